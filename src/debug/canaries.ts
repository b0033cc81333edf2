/**
 * The canaries of DebugHeap (debug-heap.ts): the fills around and over its blocks, and their
 * checks. ASan's shadow codes are the byte values, used here as fills in the block itself:
 *
 *   live block:   base |<- 0xfa ... ->| ptr |<- user (0xbe fresh) ->| ptr+size |<- 0xfb ... ->| end
 *   freed block:  base |<- 0xfd over the head ->|  (unpoisoned middle)  |<- 0xfd over the tail ->| end
 *                 head = [base, ptr + maxFillBytes), tail = [ptr + size - maxFillBytes, end)
 *
 * A block up to 2 * maxFillBytes is poisoned whole; a bigger one keeps its middle unchecked, as
 * ASan's `max_free_fill_size` does.
 */
import type { ByteStore } from "../memory/store.js";
import type { BlockTable } from "./block-table.js";
import { fill, foundBytes, foundBytesBackward, lastMismatch, mismatch } from "./byte-runs.js";
import type { BlockDescriber } from "./descriptions.js";
import { BufferOverflowError, UseAfterFreeError } from "./errors.js";

/** Byte before each block (ASan's heap left red zone shadow code). */
export const LEFT_CANARY = 0xfa;
/** Byte after each block, through the slack (heap right red zone). */
export const RIGHT_CANARY = 0xfb;
/** Byte over freed memory (freed heap region). */
export const FREED_POISON = 0xfd;
/** Byte over fresh user memory, so that reads of uninitialized memory stand out. */
export const ALLOC_FILL = 0xbe;
if (new Set([LEFT_CANARY, RIGHT_CANARY, FREED_POISON, ALLOC_FILL]).size !== 4) {
  throw new Error("debug heap: the canaries, the poison and the fill must be distinct bytes");
}

export class Canaries {
  constructor(
    private readonly table: BlockTable,
    private readonly descriptions: BlockDescriber,
    private readonly store: () => ByteStore,
    private readonly maxFillBytes: number,
  ) {}

  /** Fills a new block's red zones (and its first user bytes with `allocFill`, unless null). */
  guard(base: number, ptr: number, size: number, end: number, allocFill: number | null): void {
    const { u8, f64 } = this.store();
    fill(u8, f64, base, ptr, LEFT_CANARY);
    if (allocFill !== null) fill(u8, f64, ptr, ptr + Math.min(size, this.maxFillBytes), allocFill);
    fill(u8, f64, ptr + size, end, RIGHT_CANARY);
  }

  /** Poisons a freed block's head and tail. */
  poison(slot: number): void {
    const { u8, f64 } = this.store();
    const [headEnd, tailStart] = this.poisonRuns(slot);
    fill(u8, f64, this.table.base(slot), headEnd, FREED_POISON);
    fill(u8, f64, tailStart, this.table.end(slot), FREED_POISON);
  }

  /**
   * The poisoned runs of a freed block: [base, headEnd) and [tailStart, end), its first and last
   * `maxFillBytes` user bytes with the red zones (one run when the block is small).
   */
  private poisonRuns(slot: number): [headEnd: number, tailStart: number] {
    const t = this.table;
    const end = t.end(slot);
    const headEnd = Math.min(end, t.ptr(slot) + this.maxFillBytes);
    return [headEnd, Math.max(headEnd, t.ptr(slot) + t.size(slot) - this.maxFillBytes)];
  }

  /** Throws BufferOverflowError for the corrupted red zone byte nearest the block. */
  verifyRedZones(slot: number): void {
    const t = this.table;
    const { u8, f64 } = this.store();
    const ptr = t.ptr(slot);
    const after = ptr + t.size(slot);
    const end = t.end(slot);
    const bad = mismatch(u8, f64, after, end, RIGHT_CANARY);
    if (bad >= 0) {
      throw new BufferOverflowError(this.descriptions.story(slot), bad, u8[bad]!, RIGHT_CANARY, foundBytes(u8, bad, end, RIGHT_CANARY));
    }
    const base = t.base(slot);
    const badLeft = mismatch(u8, f64, base, ptr, LEFT_CANARY) < 0 ? -1 : lastMismatch(u8, base, ptr, LEFT_CANARY);
    if (badLeft >= 0) {
      throw new BufferOverflowError(this.descriptions.story(slot), badLeft, u8[badLeft]!, LEFT_CANARY, foundBytesBackward(u8, base, badLeft, LEFT_CANARY));
    }
  }

  verifyPoison(slot: number, detectedBy: "quarantine" | "check"): UseAfterFreeError | undefined {
    const t = this.table;
    const { u8, f64 } = this.store();
    const end = t.end(slot);
    const [headEnd, tailStart] = this.poisonRuns(slot);
    let bad = mismatch(u8, f64, t.base(slot), headEnd, FREED_POISON);
    let runEnd = headEnd;
    if (bad < 0) {
      bad = mismatch(u8, f64, tailStart, end, FREED_POISON);
      runEnd = end;
    }
    if (bad < 0) return undefined;
    return new UseAfterFreeError(this.descriptions.freedStory(slot), "write", bad, u8[bad]!, FREED_POISON, foundBytes(u8, bad, runEnd, FREED_POISON), detectedBy);
  }
}
