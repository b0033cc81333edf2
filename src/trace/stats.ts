/**
 * What a trace is made of, from the trace alone (no allocator): ops by kind, what normalisation
 * did, the request size histogram, block lifetimes (in ops, from alloc to free; a realloc keeps
 * the block alive) and the live peak.
 *
 * Histograms use power-of-two buckets: bucket k holds values in [2^k, 2^(k+1)), and zero has a
 * bucket of its own. Only the span from the first to the last non-empty bucket is reported.
 * `trace-stats` streams a trace through `TraceStatsCollector`, never holding its ops.
 */
import { OP_ALLOC, OP_FREE, OP_REALLOC, type OpSink, type Trace, type TraceSummary } from "./trace.js";

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

/** The statistics of a trace held in memory (the same numbers `TraceStatsCollector` streams). */
export function traceStats(trace: Trace): TraceStats {
  const collector = new TraceStatsCollector();
  for (let op = 0; op < trace.opCount; op++) collector.push(trace.kinds[op]!, trace.ids[op]!, trace.sizes[op]!);
  return collector.result(trace);
}

/**
 * Trace statistics as the ops stream by (an OpSink for TraceParser): per-op memory is nothing,
 * per-id memory one birth op. Lifetimes are counted exactly up to 65,535 ops and above that in
 * buckets 1/256 of their power of two wide (HdrHistogram's idea), so the median of lifetimes
 * beyond 65,535 ops is exact to within 0.4%.
 */
export class TraceStatsCollector implements OpSink {
  private readonly counts = [0, 0, 0];
  private readonly sizeBuckets: number[] = [];
  private sizeTotal = 0;
  private sizeMax = 0;
  private bornAt = new Float64Array(1024);
  private readonly lifetimes = new CountHistogram();
  private readonly lifetimeBuckets: number[] = [];
  private lifetimeTotal = 0;
  private op = 0;

  push(kind: number, id: number, size: number): void {
    this.counts[kind]!++;
    if (kind !== OP_FREE) {
      count(this.sizeBuckets, bitLength(size));
      this.sizeTotal += size;
      if (size > this.sizeMax) this.sizeMax = size;
    }
    if (kind === OP_ALLOC) {
      if (id >= this.bornAt.length) this.growBornAt(id);
      this.bornAt[id] = this.op;
    } else if (kind === OP_FREE) {
      const lifetime = this.op - this.bornAt[id]!;
      this.lifetimes.add(lifetime);
      count(this.lifetimeBuckets, bitLength(lifetime));
      this.lifetimeTotal += lifetime;
    }
    this.op++;
  }

  result(trace: TraceSummary): TraceStats {
    const requests = this.counts[OP_ALLOC]! + this.counts[OP_REALLOC]!;
    const freed = this.lifetimes.count;
    return {
      name: trace.name,
      ops: { total: trace.opCount, alloc: this.counts[OP_ALLOC]!, realloc: this.counts[OP_REALLOC]!, free: this.counts[OP_FREE]! },
      normalised: { freeNullDropped: trace.freeNullCount, reusedIds: trace.reusedIdCount, repeatedSizes: trace.repeatedSizeCount },
      sizes: {
        requests,
        totalBytes: this.sizeTotal,
        maxBytes: this.sizeMax,
        meanBytes: requests === 0 ? 0 : this.sizeTotal / requests,
        histogram: bucketsOf(this.sizeBuckets),
      },
      lifetimes: {
        freedBlocks: freed,
        meanOps: freed === 0 ? 0 : this.lifetimeTotal / freed,
        medianOps: this.lifetimes.median(),
        histogram: bucketsOf(this.lifetimeBuckets),
      },
      peakLiveBytes: trace.peakLiveBytes,
      peakLiveAfterOps: trace.peakLiveOp + 1,
      liveBlocksAtEnd: trace.finalLiveBlocks,
      liveBytesAtEnd: trace.finalLiveBytes,
    };
  }

  private growBornAt(id: number): void {
    const grown = new Float64Array(Math.max(id + 1, this.bornAt.length * 2));
    grown.set(this.bornAt);
    this.bornAt = grown;
  }
}

/** Counts of non-negative integers: exact below 2^16, above in buckets 1/256 of their power of two. */
class CountHistogram {
  count = 0;
  private readonly exact = new Float64Array(EXACT_LIMIT);
  private readonly coarse = new Map<number, number>();

  add(value: number): void {
    this.count++;
    if (value < EXACT_LIMIT) this.exact[value]!++;
    else {
      const low = coarseLow(value);
      this.coarse.set(low, (this.coarse.get(low) ?? 0) + 1);
    }
  }

  /** The median, as the sorted values' middle one (or the mean of the middle two). */
  median(): number {
    if (this.count === 0) return 0;
    const upper = this.count >> 1;
    return this.count % 2 === 1 ? this.at(upper) : (this.at(upper - 1) + this.at(upper)) / 2;
  }

  /** The value of rank `rank` (0-based) in sorted order; a coarse bucket stands for its low end. */
  private at(rank: number): number {
    let seen = 0;
    for (let v = 0; v < EXACT_LIMIT; v++) {
      seen += this.exact[v]!;
      if (seen > rank) return v;
    }
    for (const low of [...this.coarse.keys()].sort((a, b) => a - b)) {
      seen += this.coarse.get(low)!;
      if (seen > rank) return low;
    }
    return 0;
  }
}

const EXACT_LIMIT = 1 << 16;
const COARSE_STEPS_LOG = 8;

function coarseLow(value: number): number {
  const width = 2 ** (bitLength(value) - 1 - COARSE_STEPS_LOG);
  return Math.floor(value / width) * width;
}

function count(buckets: number[], bucket: number): void {
  buckets[bucket] = (buckets[bucket] ?? 0) + 1;
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
  for (const value of values) count(counts, bitLength(value));
  return bucketsOf(counts);
}

/** Power-of-two bucket counts as buckets, from the first non-empty one to the last. */
function bucketsOf(counts: number[]): HistogramBucket[] {
  const first = counts.findIndex((n) => n !== undefined);
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
