/**
 * What a trace is made of, from the trace alone (no allocator): ops by kind, what normalisation
 * did, the request size histogram, block lifetimes (in ops, from alloc to free; a realloc keeps
 * the block alive) and the live peak.
 *
 * Histograms use power-of-two buckets: bucket k holds values in [2^k, 2^(k+1)), and zero has a
 * bucket of its own. Only the span from the first to the last non-empty bucket is reported.
 */
import { OP_ALLOC, OP_FREE, OP_REALLOC, type Trace } from "./trace.js";

export interface HistogramBucket {
  /** Inclusive bounds. */
  from: number;
  to: number;
  count: number;
}

export interface TraceStats {
  name: string;
  ops: { total: number; alloc: number; realloc: number; free: number };
  normalised: { freeNullDropped: number; reusedIds: number; repeatedSizes: number };
  sizes: { requests: number; totalBytes: number; maxBytes: number; meanBytes: number; histogram: HistogramBucket[] };
  lifetimes: { freedBlocks: number; meanOps: number; medianOps: number; histogram: HistogramBucket[] };
  peakLiveBytes: number;
  /** Ops done when live bytes peaked. */
  peakLiveAfterOps: number;
  liveBlocksAtEnd: number;
  liveBytesAtEnd: number;
}

/** What a trace is made of: ops by kind, request sizes, block lifetimes, the live peak. */
export function traceStats(trace: Trace): TraceStats {
  const counts = [0, 0, 0];
  for (const kind of trace.kinds) counts[kind]!++;
  const sizes = requestSizes(trace);
  const lifetimes = blockLifetimes(trace);
  return {
    name: trace.name,
    ops: { total: trace.opCount, alloc: counts[OP_ALLOC]!, realloc: counts[OP_REALLOC]!, free: counts[OP_FREE]! },
    normalised: { freeNullDropped: trace.freeNullCount, reusedIds: trace.reusedIdCount, repeatedSizes: trace.repeatedSizeCount },
    sizes: {
      requests: sizes.length,
      totalBytes: sum(sizes),
      maxBytes: sizes.reduce((max, size) => Math.max(max, size), 0),
      meanBytes: sizes.length === 0 ? 0 : sum(sizes) / sizes.length,
      histogram: log2Histogram(sizes),
    },
    lifetimes: {
      freedBlocks: lifetimes.length,
      meanOps: lifetimes.length === 0 ? 0 : sum(lifetimes) / lifetimes.length,
      medianOps: median(lifetimes),
      histogram: log2Histogram(lifetimes),
    },
    peakLiveBytes: trace.peakLiveBytes,
    peakLiveAfterOps: trace.peakLiveOp + 1,
    liveBlocksAtEnd: trace.finalLiveBlocks,
    liveBytesAtEnd: trace.finalLiveBytes,
  };
}

/** The size of every malloc and realloc request. */
export function requestSizes(trace: Trace): Float64Array {
  let count = 0;
  for (const kind of trace.kinds) if (kind !== OP_FREE) count++;
  const sizes = new Float64Array(count);
  let n = 0;
  for (let op = 0; op < trace.opCount; op++) if (trace.kinds[op] !== OP_FREE) sizes[n++] = trace.sizes[op]!;
  return sizes;
}

/** For every freed block, the ops from its alloc to its free (blocks live at the end are left out). */
export function blockLifetimes(trace: Trace): Float64Array {
  const bornAt = new Float64Array(trace.idCount);
  const lifetimes = new Float64Array(trace.opCount);
  let n = 0;
  for (let op = 0; op < trace.opCount; op++) {
    const kind = trace.kinds[op];
    if (kind === OP_ALLOC) bornAt[trace.ids[op]!] = op;
    else if (kind === OP_FREE) lifetimes[n++] = op - bornAt[trace.ids[op]!]!;
  }
  return lifetimes.slice(0, n);
}

export function log2Histogram(values: Float64Array): HistogramBucket[] {
  const counts: number[] = [];
  for (const value of values) {
    const bucket = bitLength(value);
    counts[bucket] = (counts[bucket] ?? 0) + 1;
  }
  const first = counts.findIndex((count) => count !== undefined);
  if (first < 0) return [];
  const buckets: HistogramBucket[] = [];
  for (let k = first; k < counts.length; k++) {
    const [from, to] = k === 0 ? [0, 0] : [2 ** (k - 1), 2 ** k - 1];
    buckets.push({ from, to, count: counts[k] ?? 0 });
  }
  return buckets;
}

/** Bits needed to write a non-negative safe integer: 0 for 0, 1 for 1, 2 for 2..3, ... */
function bitLength(value: number): number {
  return value < 2 ** 32 ? 32 - Math.clz32(value) : 32 + bitLength(Math.floor(value / 2 ** 32));
}

function sum(values: Float64Array): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

function median(values: Float64Array): number {
  if (values.length === 0) return 0;
  const sorted = values.slice().sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
