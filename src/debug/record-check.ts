/**
 * The walker of DebugHeap's invariants (drawn in debug-heap.ts) over its own records: every live
 * block's red zones and every quarantined block's poison intact, the block table, the shadow and
 * the live list agreeing about each block, and the byte gauges equal to the sums. The heap's
 * check() runs it, then the inner allocator's own.
 */
import { HeapCorruptionError } from "../errors.js";
import type { LiveSlots, Shadow } from "./block-index.js";
import { type BlockTable, SlotState } from "./block-table.js";
import type { Canaries } from "./canaries.js";
import type { Quarantine } from "./quarantine.js";

/** Throws the first broken invariant: a BufferOverflowError, a UseAfterFreeError or a HeapCorruptionError. */
export function checkRecords(
  t: BlockTable, shadow: Shadow, live: LiveSlots, quarantine: Quarantine, canaries: Canaries, liveBytesGauge: number,
): void {
  let liveBytes = 0;
  for (let i = 0; i < live.count; i++) {
    const slot = live.at(i);
    canaries.verifyRedZones(slot);
    liveBytes += t.size(slot);
    if (t.state(slot) !== SlotState.LIVE || shadow.slotOf(t.ptr(slot)) !== slot || t.liveIndex(slot) !== i) {
      throw new HeapCorruptionError(`debug heap: the records of live block ${t.ptr(slot)} disagree`, t.ptr(slot));
    }
  }
  let quarantinedBytes = 0;
  for (const [slot, , bytes] of quarantine.entries()) {
    const error = canaries.verifyPoison(slot, "check");
    if (error !== undefined) throw error;
    quarantinedBytes += bytes;
    if (t.state(slot) !== SlotState.QUARANTINED || bytes !== t.end(slot) - t.base(slot)) {
      throw new HeapCorruptionError(`debug heap: the records of quarantined block ${t.ptr(slot)} disagree`, t.ptr(slot));
    }
  }
  if (liveBytes !== liveBytesGauge || quarantinedBytes !== quarantine.bytes) {
    throw new HeapCorruptionError(`debug heap: counted ${liveBytes} live and ${quarantinedBytes} quarantined bytes, ` +
      `the gauges say ${liveBytesGauge} and ${quarantine.bytes}`);
  }
}
