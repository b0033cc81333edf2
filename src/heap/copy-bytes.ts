/** How realloc moves a block's bytes (heap.ts, moveBlock). */
import type { ByteStore } from "../memory/store.js";

/** Copies up to this many bytes word by word: below it, the call of copyWithin costs more than the copy (realloc moves many small blocks: SQLite shrinks 40-byte strings to 16). */
const SHORT_COPY_BYTES = 64;

/** Copies n bytes from block src to block dst (8-aligned, apart): words and the last bytes for a short copy, else copyWithin. */
export function copyBytes(store: ByteStore, dst: number, src: number, n: number): void {
  if (n > SHORT_COPY_BYTES) {
    store.u8.copyWithin(dst, src, src + n);
    return;
  }
  const u32 = store.u32;
  const words = n >>> 2;
  for (let i = 0; i < words; i++) u32[(dst >>> 2) + i] = u32[(src >>> 2) + i]!;
  const u8 = store.u8;
  for (let i = words << 2; i < n; i++) u8[dst + i] = u8[src + i]!;
}
