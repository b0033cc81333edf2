/**
 * The content check of a replay: every block carries a 32-bit word of its own, repeated over its
 * bytes (byte i of the block is byte i % 4 of the word, little-endian), written when the block
 * is allocated or grown and verified before it is freed or resized. A block that another block
 * overlaps, or that a realloc failed to copy, loses its pattern.
 *
 * The aligned middle of a block goes through the store's Uint32Array (fill, and a word compare
 * loop), so checking costs about a nanosecond per 4 bytes; only the ragged ends go byte by byte.
 */
import type { ByteStore } from "../memory/store.js";

const IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A pattern word for the block allocated at op `op`: odd, spread over all four bytes. */
export function patternWord(op: number): number {
  return (Math.imul(op + 1, 0x9e3779b1) | 1) >>> 0;
}

/** Writes the pattern into block bytes [from, to) of the block at `ptr`. */
export function fillPattern(store: ByteStore, ptr: number, from: number, to: number, word: number): void {
  const u8 = store.u8;
  let i = from;
  for (; i < to && !wordAligned(ptr + i, to - i); i++) u8[ptr + i] = patternByte(word, i);
  const words = (to - i) >>> 2;
  if (words > 0) {
    const first = (ptr + i) >>> 2;
    store.u32.fill(rotated(word, i), first, first + words);
    i += words * 4;
  }
  for (; i < to; i++) u8[ptr + i] = patternByte(word, i);
}

/** The first byte index in [0, size) where the block at `ptr` lost its pattern, or -1. */
export function findPatternMismatch(store: ByteStore, ptr: number, size: number, word: number): number {
  const u8 = store.u8;
  let i = 0;
  for (; i < size && !wordAligned(ptr + i, size - i); i++) if (u8[ptr + i] !== patternByte(word, i)) return i;
  const words = (size - i) >>> 2;
  if (words > 0) {
    const u32 = store.u32;
    const expected = rotated(word, i);
    const first = (ptr + i) >>> 2;
    for (let w = first; w < first + words; w++) {
      if (u32[w] !== expected) return firstByteMismatch(u8, w * 4, ptr, word);
    }
    i += words * 4;
  }
  for (; i < size; i++) if (u8[ptr + i] !== patternByte(word, i)) return i;
  return -1;
}

function patternByte(word: number, i: number): number {
  return (word >>> ((i & 3) << 3)) & 0xff;
}

/** Whether whole words can start at this address (and are worth it for `remaining` bytes). */
function wordAligned(address: number, remaining: number): boolean {
  return IS_LITTLE_ENDIAN && remaining >= 4 && (address & 3) === 0;
}

/** The four pattern bytes that start at block byte i, as one little-endian word. */
function rotated(word: number, i: number): number {
  const shift = (i & 3) << 3;
  return shift === 0 ? word : ((word >>> shift) | (word << (32 - shift))) >>> 0;
}

function firstByteMismatch(u8: Uint8Array, address: number, ptr: number, word: number): number {
  for (let a = address; ; a++) if (u8[a] !== patternByte(word, a - ptr)) return a - ptr;
}
