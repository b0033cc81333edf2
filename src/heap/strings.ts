/**
 * UTF-8 strings in a byte store, for `Heap.allocString` and `readString`: the encoded length of a
 * JS string, and decoding a range (shared memory copied first: not every TextDecoder reads it).
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Bytes of `s` in UTF-8 (an unpaired surrogate counts 3, as TextEncoder writes U+FFFD). */
export function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Writes `s` (of `bytes` UTF-8 bytes, utf8Length) at `at`, then a 0 byte. */
export function writeUtf8z(u8: Uint8Array, at: number, s: string, bytes: number): void {
  if (bytes > 0) encoder.encodeInto(s, u8.subarray(at, at + bytes));
  u8[at + bytes] = 0;
}

/** The string in [from, end), or up to its first 0 byte before `end` when `toNul`. */
export function readUtf8(u8: Uint8Array, from: number, end: number, toNul: boolean): string {
  const nul = toNul ? u8.subarray(from, end).indexOf(0) : -1;
  const stop = nul < 0 ? end : from + nul;
  return decoder.decode(u8.buffer instanceof ArrayBuffer ? u8.subarray(from, stop) : u8.slice(from, stop));
}
