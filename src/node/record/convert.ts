/**
 * Turns one process's allocator events (events.ts) into a malloc-lab trace, the format of
 * ../shared/traces: each block gets a fresh id when it is allocated; `r` keeps the id when the
 * block moves; the counters say what normalisation did, under the names the shared traces'
 * .meta files use.
 *
 *   event                          trace line           counter
 *   malloc/calloc/aligned -> p     a ID SIZE            allocs (aligned_allocs, zero_size_allocs)
 *   ... -> NULL                    none                 failed_allocs
 *   free(NULL)                     none                 free_null_ignored
 *   free(p), p not live            none                 free_unknown_ignored (a block from before the library loaded)
 *   realloc(NULL, n) -> p          a ID n               allocs
 *   realloc(p, 0) -> NULL          f ID                 realloc_zero_as_free (glibc frees the block)
 *   realloc(p, n) -> NULL          none                 failed_reallocs (the block stays)
 *   realloc(p unknown, n) -> q     a ID n               realloc_unknown_as_alloc
 *   an address handed out twice    f OLD, then a NEW    live_address_reused (a free the library missed)
 *
 * Once `maxOps` lines are written the rest is left out (cap_reached, untraced_after_cap).
 */
import { EVENT_ALIGNED, EVENT_CALLOC, EVENT_FREE, EVENT_MALLOC, EVENT_REALLOC } from "./events.js";

export interface TraceCounters {
  ops: number;
  allocs: number;
  frees: number;
  reallocs: number;
  ids: number;
  peak_live_bytes: number;
  live_bytes_at_end: number;
  live_blocks_at_end: number;
  free_null_ignored: number;
  free_unknown_ignored: number;
  realloc_unknown_as_alloc: number;
  realloc_zero_as_free: number;
  aligned_allocs: number;
  zero_size_allocs: number;
  failed_allocs: number;
  failed_reallocs: number;
  live_address_reused: number;
  max_ops_cap: number;
  cap_reached: number;
  untraced_after_cap: number;
}

export class TraceBuilder {
  readonly lines: string[] = [];
  readonly counters: TraceCounters;
  /** Events per thread number (index 0 unused). */
  readonly threadEvents: number[] = [];
  private readonly idOf = new Map<number, number>();
  private readonly sizes: number[] = [];
  private liveBytes = 0;

  constructor(maxOps: number) {
    this.counters = {
      ops: 0, allocs: 0, frees: 0, reallocs: 0, ids: 0, peak_live_bytes: 0, live_bytes_at_end: 0, live_blocks_at_end: 0,
      free_null_ignored: 0, free_unknown_ignored: 0, realloc_unknown_as_alloc: 0, realloc_zero_as_free: 0,
      aligned_allocs: 0, zero_size_allocs: 0, failed_allocs: 0, failed_reallocs: 0, live_address_reused: 0,
      max_ops_cap: maxOps, cap_reached: 0, untraced_after_cap: 0,
    };
  }

  /** One event, in the order the process made them (an EventSink). */
  readonly event = (kind: number, result: number, argument: number, size: number, thread: number): void => {
    this.threadEvents[thread] = (this.threadEvents[thread] ?? 0) + 1;
    const c = this.counters;
    if (c.cap_reached === 1) {
      c.untraced_after_cap++;
      return;
    }
    if (kind === EVENT_FREE) this.free(argument);
    else if (kind === EVENT_REALLOC) this.realloc(argument, result, size);
    else if (kind === EVENT_MALLOC || kind === EVENT_CALLOC || kind === EVENT_ALIGNED) {
      if (result === 0) c.failed_allocs++;
      else {
        if (kind === EVENT_ALIGNED) c.aligned_allocs++;
        this.alloc(result, size);
      }
    }
    if (c.max_ops_cap > 0 && c.ops >= c.max_ops_cap) c.cap_reached = 1;
  };

  /** The trace's header and lines, and the final counters. */
  finish(): { text: string; counters: TraceCounters } {
    const c = this.counters;
    c.live_bytes_at_end = this.liveBytes;
    c.live_blocks_at_end = this.idOf.size;
    const header = ["1", String(c.ids), String(c.ops), "0"];
    return { text: `${header.concat(this.lines).join("\n")}\n`, counters: c };
  }

  private alloc(address: number, size: number): void {
    const c = this.counters;
    if (this.idOf.has(address)) {
      c.live_address_reused++;
      this.free(address);
    }
    if (size === 0) c.zero_size_allocs++;
    const id = c.ids++;
    this.idOf.set(address, id);
    this.sizes[id] = size;
    this.emit(`a ${id} ${size}`);
    c.allocs++;
    this.grow(size);
  }

  private free(address: number): void {
    const c = this.counters;
    if (address === 0) {
      c.free_null_ignored++;
      return;
    }
    const id = this.idOf.get(address);
    if (id === undefined) {
      c.free_unknown_ignored++;
      return;
    }
    this.idOf.delete(address);
    this.emit(`f ${id}`);
    c.frees++;
    this.liveBytes -= this.sizes[id]!;
  }

  private realloc(oldAddress: number, newAddress: number, size: number): void {
    const c = this.counters;
    if (oldAddress === 0) {
      if (newAddress === 0) c.failed_allocs++;
      else this.alloc(newAddress, size);
      return;
    }
    const id = this.idOf.get(oldAddress);
    if (newAddress === 0) {
      if (size !== 0) c.failed_reallocs++;
      else if (id !== undefined) {
        c.realloc_zero_as_free++;
        this.free(oldAddress);
      }
      return;
    }
    if (id === undefined) {
      c.realloc_unknown_as_alloc++;
      this.alloc(newAddress, size);
      return;
    }
    this.idOf.delete(oldAddress);
    if (this.idOf.has(newAddress)) {
      c.live_address_reused++;
      this.free(newAddress);
    }
    this.idOf.set(newAddress, id);
    this.emit(`r ${id} ${size}`);
    c.reallocs++;
    this.liveBytes -= this.sizes[id]!;
    this.sizes[id] = size;
    this.grow(size);
  }

  private emit(line: string): void {
    this.lines.push(line);
    this.counters.ops++;
  }

  private grow(size: number): void {
    this.liveBytes += size;
    if (this.liveBytes > this.counters.peak_live_bytes) this.counters.peak_live_bytes = this.liveBytes;
  }
}
