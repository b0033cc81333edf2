/**
 * The kept hole's words (tlsf.ts states the rule): W[KEPT], the free block a freed large block
 * of KEPT_MIN_BYTES or more left (0: none), and W[KEPT_BUDGET], the bytes that small requests may still carve from the
 * top instead of splitting it.
 */
import { Block, Layout, Word } from "./layout.js";

/** Keeps the free block at p whole for large requests (p: what freeBlock returned; 0: none). */
export function keepHole(u32: Uint32Array, p: number): void {
  if (p === 0) return;
  u32[Word.KEPT] = p;
  u32[Word.KEPT_BUDGET] = (u32[(p + Block.SIZE) >>> 2]! & Layout.SIZE_MASK) >>> 3;
}

/** True when there is a kept hole of at least `size` bytes. */
export function keptHoleHolds(u32: Uint32Array, size: number): boolean {
  const kept = u32[Word.KEPT]!;
  return kept !== 0 && (u32[(kept + Block.SIZE) >>> 2]! & Layout.SIZE_MASK) >= size;
}

/** Takes `size` from the kept hole's budget; false (taking nothing) when it has not that much left. */
export function spendKeptBudget(u32: Uint32Array, size: number): boolean {
  const budget = u32[Word.KEPT_BUDGET]!;
  if (size > budget) return false;
  u32[Word.KEPT_BUDGET] = budget - size;
  return true;
}
