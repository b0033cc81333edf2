/**
 * Fills and checks of byte runs in the store: how the debug heap writes its red zones, fresh
 * fill and poison, verifies them, and cuts out the bytes an error shows. Fills and checks go 8
 * bytes at a time through the store's Float64Array over the aligned middle of a run, and byte by
 * byte at its ragged ends.
 */
import { FOUND_BYTES_SHOWN } from "./errors.js";

/**
 * WORD_OF[b] is the double whose eight bytes are all b. Exact for every b but 0x00 (0 and -0
 * compare equal) and 0xff (a NaN, which a store may canonicalize): those two take the byte path.
 */
const WORD_OF = new Float64Array(256);
new Uint8Array(WORD_OF.buffer).forEach((_, i, bytes) => { bytes[i] = i >>> 3; });
const wordSafe = (byte: number): boolean => byte !== 0 && byte !== 0xff;

/** The first offset in [from, to) whose byte is not `byte`, or -1. */
export function mismatch(u8: Uint8Array, f64: Float64Array, from: number, to: number, byte: number): number {
  let i = from;
  if (wordSafe(byte)) {
    const headEnd = Math.min(to, Math.ceil(i / 8) * 8);
    for (; i < headEnd; i++) if (u8[i] !== byte) return i;
    const word = WORD_OF[byte]!;
    const wordEnd = Math.floor(to / 8);
    for (let w = i / 8; w < wordEnd; w++) {
      if (f64[w] !== word) {
        for (let j = w * 8; ; j++) if (u8[j] !== byte) return j;
      }
    }
    if (wordEnd * 8 > i) i = wordEnd * 8;
  }
  for (; i < to; i++) if (u8[i] !== byte) return i;
  return -1;
}

/** Fills [from, to) with `byte`; long runs take the built-in fill (calling it costs more than a short loop). */
export function fill(u8: Uint8Array, f64: Float64Array, from: number, to: number, byte: number): void {
  if (to - from >= 256 || !wordSafe(byte)) {
    u8.fill(byte, from, to);
    return;
  }
  let i = from;
  const headEnd = Math.min(to, Math.ceil(i / 8) * 8);
  for (; i < headEnd; i++) u8[i] = byte;
  const word = WORD_OF[byte]!;
  const wordEnd = Math.floor(to / 8);
  for (let w = i / 8; w < wordEnd; w++) f64[w] = word;
  if (wordEnd * 8 > i) i = wordEnd * 8;
  for (; i < to; i++) u8[i] = byte;
}

/** The last offset in [from, to) whose byte is not `byte`, or -1 (byte by byte: red zones are short). */
export function lastMismatch(u8: Uint8Array, from: number, to: number, byte: number): number {
  for (let i = to - 1; i >= from; i--) if (u8[i] !== byte) return i;
  return -1;
}

/** Up to FOUND_BYTES_SHOWN bytes from `at` (before `to`), stopping after the last changed byte. */
export function foundBytes(u8: Uint8Array, at: number, to: number, byte: number): number[] {
  const stop = Math.min(to, at + FOUND_BYTES_SHOWN);
  let last = at;
  for (let i = at; i < stop; i++) if (u8[i] !== byte) last = i;
  return Array.from(u8.subarray(at, last + 1));
}

/**
 * The same going down from `at` (not below `from`), as an underflow runs toward lower offsets:
 * `at` first, then the bytes below it, through the farthest changed one.
 */
export function foundBytesBackward(u8: Uint8Array, from: number, at: number, byte: number): number[] {
  const stop = Math.max(from, at - FOUND_BYTES_SHOWN + 1);
  let first = at;
  for (let i = at; i >= stop; i--) if (u8[i] !== byte) first = i;
  return Array.from(u8.subarray(first, at + 1)).reverse();
}
