/**
 * The debug heap's per-block records, kept JS-side so the inner allocator's layout is untouched:
 * one 64-byte row (a cache line) per slot, so that the fields one call touches sit together;
 * freed slots are recycled. Offsets and sizes fit in 32 bits (MAX_STORE_BYTES < 2^32); sequence
 * numbers are doubles.
 *
 *   u32 word  0 ptr   1 size   2 base   3 end   4 allocSite (i32)   5 freeSite (i32)   7 liveIndex
 *   byte     24 state   25 alignLog   26 flags
 *   f64       4 allocSeq   5 birthSeq   6 freeSeq
 *
 * state is one of SlotState (0 while the slot is spare); flags are BlockFlag bits.
 */

/** Where a block is in its life: handed out, freed and poisoned, or given back to the inner allocator. */
export const enum SlotState {
  LIVE = 1,
  QUARANTINED = 2,
  RELEASED = 3,
}

/** Which call made or ended a block, for the sites its story names. */
export const enum BlockFlag {
  ALLOCATED_BY_REALLOC = 1,
  FREED_BY_REALLOC = 2,
}

const ROW_BYTES = 64;
const ROW_WORDS = ROW_BYTES / 4;
const ROW_DOUBLES = ROW_BYTES / 8;

export class BlockTable {
  private u32 = new Uint32Array(0);
  private i32 = new Int32Array(0);
  private u8 = new Uint8Array(0);
  private f64 = new Float64Array(0);
  private capacity = 0;
  private spare: number[] = [];
  private used = 0;

  /** A fresh slot (a recycled one first). May replace the columns: read them after this. */
  add(): number {
    const reused = this.spare.pop();
    if (reused !== undefined) return reused;
    if (this.used === this.capacity) this.grow(Math.max(256, this.capacity * 2));
    return this.used++;
  }

  release(slot: number): void {
    this.setState(slot, 0);
    this.spare.push(slot);
  }

  ptr(s: number): number { return this.u32[s * ROW_WORDS]!; }
  size(s: number): number { return this.u32[s * ROW_WORDS + 1]!; }
  base(s: number): number { return this.u32[s * ROW_WORDS + 2]!; }
  end(s: number): number { return this.u32[s * ROW_WORDS + 3]!; }
  allocSite(s: number): number { return this.i32[s * ROW_WORDS + 4]!; }
  freeSite(s: number): number { return this.i32[s * ROW_WORDS + 5]!; }
  liveIndex(s: number): number { return this.u32[s * ROW_WORDS + 7]!; }
  state(s: number): number { return this.u8[s * ROW_BYTES + 24]!; }
  alignLog(s: number): number { return this.u8[s * ROW_BYTES + 25]!; }
  flags(s: number): number { return this.u8[s * ROW_BYTES + 26]!; }
  allocSeq(s: number): number { return this.f64[s * ROW_DOUBLES + 4]!; }
  birthSeq(s: number): number { return this.f64[s * ROW_DOUBLES + 5]!; }
  freeSeq(s: number): number { return this.f64[s * ROW_DOUBLES + 6]!; }

  setPtr(s: number, v: number): void { this.u32[s * ROW_WORDS] = v; }
  setSize(s: number, v: number): void { this.u32[s * ROW_WORDS + 1] = v; }
  setBase(s: number, v: number): void { this.u32[s * ROW_WORDS + 2] = v; }
  setEnd(s: number, v: number): void { this.u32[s * ROW_WORDS + 3] = v; }
  setAllocSite(s: number, v: number): void { this.i32[s * ROW_WORDS + 4] = v; }
  setFreeSite(s: number, v: number): void { this.i32[s * ROW_WORDS + 5] = v; }
  setLiveIndex(s: number, v: number): void { this.u32[s * ROW_WORDS + 7] = v; }
  setState(s: number, v: number): void { this.u8[s * ROW_BYTES + 24] = v; }
  setAlignLog(s: number, v: number): void { this.u8[s * ROW_BYTES + 25] = v; }
  setFlags(s: number, v: number): void { this.u8[s * ROW_BYTES + 26] = v; }
  setAllocSeq(s: number, v: number): void { this.f64[s * ROW_DOUBLES + 4] = v; }
  setBirthSeq(s: number, v: number): void { this.f64[s * ROW_DOUBLES + 5] = v; }
  setFreeSeq(s: number, v: number): void { this.f64[s * ROW_DOUBLES + 6] = v; }

  private grow(capacity: number): void {
    const bytes = new ArrayBuffer(capacity * ROW_BYTES);
    new Uint8Array(bytes).set(this.u8);
    this.u32 = new Uint32Array(bytes);
    this.i32 = new Int32Array(bytes);
    this.u8 = new Uint8Array(bytes);
    this.f64 = new Float64Array(bytes);
    this.capacity = capacity;
  }
}
