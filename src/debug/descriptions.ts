/**
 * What the debug heap says about a block or an offset, from its records (ASan's address
 * descriptions, asan_descriptions.cpp): a block's story (its offset, size and sites), what an
 * arbitrary offset falls in, and the error for a free, realloc or usableSize of something that
 * is not a live block, and its leak reports. Linear in the number of blocks where it searches: error paths and tools
 * only, never the hot path.
 */
import type { LiveSlots, Shadow } from "./block-index.js";
import { BlockFlag, type BlockTable, SlotState } from "./block-table.js";
import { type BlockStory, DebugDoubleFreeError, DebugInvalidFreeError } from "./errors.js";
import { type HeapSnapshot, LeakReport, type LiveBlockRecord } from "./leaks.js";
import type { Quarantine } from "./quarantine.js";
import type { Site, SiteTable } from "./sites.js";

/** A block as `describe()` reports it. */
export type BlockDescription = BlockStory & { state: "live" | "quarantined" | "released" };

export class BlockDescriber {
  constructor(
    private readonly table: BlockTable,
    private readonly shadow: Shadow,
    private readonly live: LiveSlots,
    private readonly quarantine: Quarantine,
    private readonly sites: SiteTable,
  ) {}

  /** Where the block in `slot` was allocated. */
  story(slot: number): BlockStory {
    const t = this.table;
    const op = t.flags(slot) & BlockFlag.ALLOCATED_BY_REALLOC ? "realloc" : "malloc";
    return { ptr: t.ptr(slot), size: t.size(slot), allocSite: this.sites.site(op, t.allocSeq(slot), t.allocSite(slot)) };
  }

  /** Where the freed block in `slot` was allocated and freed. */
  freedStory(slot: number): BlockStory & { freeSite: Site } {
    const t = this.table;
    const op = t.flags(slot) & BlockFlag.FREED_BY_REALLOC ? "realloc" : "free";
    return { ...this.story(slot), freeSite: this.sites.site(op, t.freeSeq(slot), t.freeSite(slot)) };
  }

  /** The live block whose span holds `offset`, else the quarantined one, else a released block that started there. */
  describe(offset: number): BlockDescription | undefined {
    const live = this.live.around(offset);
    if (live !== undefined) return { ...this.story(live), state: "live" };
    const quarantined = this.quarantinedAround(offset);
    if (quarantined !== undefined) return { ...this.freedStory(quarantined), state: "quarantined" };
    const freed = this.shadow.slotOf(offset);
    if (freed >= 0) return { ...this.freedStory(freed), state: this.table.state(freed) === SlotState.QUARANTINED ? "quarantined" : "released" };
    return undefined;
  }

  /** The error for free/realloc/usableSize of something that is not a live block. */
  badPointer(ptr: number, operation: "free" | "realloc" | "usableSize"): Error {
    const freedSlot = this.shadow.slotOf(ptr);
    if (freedSlot >= 0) {
      if (operation === "free") {
        const cover = this.live.around(ptr);
        return new DebugDoubleFreeError(this.freedStory(freedSlot), cover === undefined ? undefined : this.story(cover));
      }
      return new DebugInvalidFreeError(ptr, operation, "freed", this.freedStory(freedSlot));
    }
    if (typeof ptr !== "number" || !Number.isInteger(ptr)) return new DebugInvalidFreeError(ptr, operation, "unknown");
    const slot = this.live.around(ptr);
    if (slot !== undefined) {
      const start = this.table.ptr(slot);
      const place = ptr < start ? "left-red-zone" : ptr < start + this.table.size(slot) ? "interior" : "right-red-zone";
      return new DebugInvalidFreeError(ptr, operation, place, this.story(slot));
    }
    const quarantined = this.quarantinedAround(ptr);
    if (quarantined !== undefined) return new DebugInvalidFreeError(ptr, operation, "freed-block", this.freedStory(quarantined));
    return new DebugInvalidFreeError(ptr, operation, "unknown");
  }

  /** The quarantined block whose span [base, end) holds `offset`. */
  private quarantinedAround(offset: number): number | undefined {
    for (const [slot] of this.quarantine.entries()) {
      if (this.table.base(slot) <= offset && offset < this.table.end(slot)) return slot;
    }
    return undefined;
  }

  /** The live blocks first allocated after operation `afterSeq`, grouped by site (leaks.ts). */
  leaks(afterSeq: number, since: HeapSnapshot | undefined, maxBlocksPerSite: number): LeakReport {
    const t = this.table;
    const records: LiveBlockRecord[] = [];
    for (let i = 0; i < this.live.count; i++) {
      const slot = this.live.at(i);
      const ptr = t.ptr(slot);
      if (t.birthSeq(slot) > afterSeq) records.push({ offset: ptr, size: t.size(slot), seq: t.birthSeq(slot), siteId: t.allocSite(slot) });
    }
    const sites = this.sites;
    const describe = (id: number) => {
      const d: { stack?: string; tag?: string } = {};
      const stack = sites.stackOf(id);
      const tag = sites.tagOf(id);
      if (stack !== undefined) d.stack = stack;
      if (tag !== undefined) d.tag = tag;
      return d;
    };
    return LeakReport.build(records, describe, since, maxBlocksPerSite);
  }
}
