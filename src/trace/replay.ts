/**
 * Replays a trace against any `Allocator`: one checked pass, then timed passes, each on a fresh
 * allocator from `create`:
 *
 *   checked pass   every block carries a pattern (verified on free, realloc and at the end);
 *                  samples stats for plots; snapshots stats right after the peak-live op;
 *                  stops at the first failure (malloc/realloc returned 0, an allocator threw,
 *                  a block lost its contents, final stats disagree with the trace).
 *   timed passes   only if the checked pass succeeded: the bare calls, timed, up to three times
 *                  (fewer past a second) on fresh allocators -> ns per op of the fastest.
 *
 * Peak live bytes come from the trace (requested bytes). The peak extent is the allocator's own
 * `peakExtentBytes` gauge (kept up to date by the allocator on every op that grows the extent),
 * checked against what the replay sees: the samples and the highest block end handed out.
 * Per-id state lives in typed arrays indexed by trace id; nothing is allocated per op.
 */
import type { Allocator, AllocatorStats } from "../allocator.js";
import { findPatternMismatch, fillPattern, patternWord } from "./pattern.js";
import { addSample, DEFAULT_SAMPLE_COUNT, emptySeries, sampleInterval, type TimeSeries } from "./samples.js";
import { OP_ALLOC, OP_FREE, OP_LETTERS, OP_REALLOC, type Trace } from "./trace.js";

export interface ReplayOptions {
  /** Samples over time, for plots; 0 for none (stats can cost a walk of the heap). @defaultValue 200 */
  sampleCount?: number;
  /** Stop (failure kind "time-limit") once all passes together have run this long. */
  timeLimitMs?: number;
  /** Timed passes after the checked one; ns per op is the fastest; 0 skips timing. @defaultValue 3 */
  timedRuns?: number;
}

export type ReplayFailureKind = "out-of-memory" | "allocator-error" | "content" | "stats" | "time-limit";

export interface ReplayFailure {
  kind: ReplayFailureKind;
  /** The op (0-based) at which the replay stopped; `opCount` for checks at the end. */
  op: number;
  message: string;
}

export interface ReplayResult {
  trace: string;
  allocator: string;
  opCount: number;
  /** Mean time of one malloc/realloc/free in the fastest timed pass; null when the replay failed or was not timed. */
  nsPerOp: number | null;
  peakLiveBytes: number;
  peakExtentBytes: number;
  /** peakLiveBytes / peakExtentBytes (the malloc-lab measure); 0 for an empty trace, null if the replay failed. */
  utilization: number | null;
  /** Stats right after the op where live bytes peaked (null if it was never reached). */
  atPeak: AllocatorStats | null;
  final: AllocatorStats;
  series: TimeSeries;
  failure: ReplayFailure | null;
}

export const DEFAULT_TIMED_RUNS = 3;
const TIMING_BUDGET_MS = 1000;

/** How many ops run between looks at the clock. */
const CLOCK_EVERY_OPS = 1024;

/**
 * Replays `trace` under a new allocator from `create`: a checked pass that writes a pattern into
 * every block and verifies it on free and realloc, then `timedRuns` timed passes of the bare calls.
 */
export function replayTrace(trace: Trace, create: () => Allocator, options: ReplayOptions = {}): ReplayResult {
  const deadline = performance.now() + (options.timeLimitMs ?? Infinity);
  const checked = new CheckedReplay(trace, create(), options.sampleCount ?? DEFAULT_SAMPLE_COUNT, deadline);
  const failure = checked.run();
  const final = checked.allocator.stats();
  const timedRuns = options.timedRuns ?? DEFAULT_TIMED_RUNS;
  const timed = failure === null && timedRuns > 0 ? timeReplay(trace, create, timedRuns, deadline) : { nsPerOp: null, failure };
  const peakExtentBytes = Math.max(final.peakExtentBytes, checked.highestBlockEnd, ...checked.series.extentBytes);
  return {
    trace: trace.name,
    allocator: checked.allocator.name,
    opCount: trace.opCount,
    nsPerOp: timed.nsPerOp,
    peakLiveBytes: trace.peakLiveBytes,
    peakExtentBytes,
    utilization: timed.failure !== null ? null : peakExtentBytes === 0 ? 0 : trace.peakLiveBytes / peakExtentBytes,
    atPeak: checked.atPeak,
    final,
    series: checked.series,
    failure: timed.failure,
  };
}

/** Thrown inside the checked pass to stop it; never escapes this module. */
class ReplayStop extends Error {
  constructor(readonly failure: ReplayFailure) {
    super(failure.message);
  }
}

class CheckedReplay {
  readonly series = emptySeries();
  atPeak: AllocatorStats | null = null;
  highestBlockEnd = 0;
  private liveBytes = 0;
  private readonly ptrs: Uint32Array;
  private readonly blockSizes: Float64Array;
  private readonly words: Uint32Array;

  constructor(
    private readonly trace: Trace,
    readonly allocator: Allocator,
    private readonly sampleCount: number,
    private readonly deadline: number,
  ) {
    this.ptrs = new Uint32Array(trace.idCount);
    this.blockSizes = new Float64Array(trace.idCount);
    this.words = new Uint32Array(trace.idCount);
  }

  run(): ReplayFailure | null {
    const { kinds, opCount, peakLiveOp } = this.trace;
    const interval = this.sampleCount === 0 ? Infinity : sampleInterval(opCount, this.sampleCount);
    if (this.sampleCount > 0) addSample(this.series, 0, 0, this.allocator.stats());
    let op = 0;
    try {
      for (; op < opCount; op++) {
        const kind = kinds[op];
        if (kind === OP_ALLOC) this.alloc(op);
        else if (kind === OP_REALLOC) this.realloc(op);
        else this.free(op);
        if (op === peakLiveOp) this.atPeak = this.allocator.stats();
        if ((op + 1) % interval === 0 || (op + 1 === opCount && this.sampleCount > 0)) addSample(this.series, op + 1, this.liveBytes, this.allocator.stats());
        if (op % CLOCK_EVERY_OPS === 0 && performance.now() > this.deadline) throw timeLimitStop(op, opCount);
      }
      this.checkEnd();
    } catch (error) {
      if (error instanceof ReplayStop) return error.failure;
      return { kind: "allocator-error", op, message: `${describeOp(this.trace, op)}: ${errorText(error)}` };
    }
    return null;
  }

  private alloc(op: number): void {
    const id = this.trace.ids[op]!;
    const size = this.trace.sizes[op]!;
    const ptr = this.allocator.malloc(size);
    if (ptr === 0) this.stop("out-of-memory", op, `malloc(${size}) returned 0 (out of memory)`);
    const word = patternWord(op);
    fillPattern(this.allocator.store, ptr, 0, size, word);
    this.ptrs[id] = ptr;
    this.blockSizes[id] = size;
    this.words[id] = word;
    this.liveBytes += size;
    this.noteBlockEnd(ptr + size);
  }

  private realloc(op: number): void {
    const id = this.trace.ids[op]!;
    const size = this.trace.sizes[op]!;
    const oldPtr = this.ptrs[id]!;
    const oldSize = this.blockSizes[id]!;
    this.verify(op, id, oldPtr, oldSize, "before realloc");
    const ptr = this.allocator.realloc(oldPtr, size);
    if (ptr === 0) this.stop("out-of-memory", op, `realloc(${oldPtr}, ${size}) returned 0 (out of memory)`);
    this.verify(op, id, ptr, Math.min(oldSize, size), "after realloc (the kept bytes)");
    if (size > oldSize) fillPattern(this.allocator.store, ptr, oldSize, size, this.words[id]!);
    this.ptrs[id] = ptr;
    this.blockSizes[id] = size;
    this.liveBytes += size - oldSize;
    this.noteBlockEnd(ptr + size);
  }

  private free(op: number): void {
    const id = this.trace.ids[op]!;
    this.verify(op, id, this.ptrs[id]!, this.blockSizes[id]!, "before free");
    this.allocator.free(this.ptrs[id]!);
    this.ptrs[id] = 0;
    this.liveBytes -= this.blockSizes[id]!;
  }

  private noteBlockEnd(end: number): void {
    if (end > this.highestBlockEnd) this.highestBlockEnd = end;
  }

  /** Stops with a "content" failure unless the first `size` bytes at `ptr` carry block `id`'s pattern. */
  private verify(op: number, id: number, ptr: number, size: number, when: string): void {
    const at = findPatternMismatch(this.allocator.store, ptr, size, this.words[id]!);
    if (at >= 0) {
      this.stop("content", op, `block ${id} (${size} bytes at offset ${ptr}) lost its contents at byte ${at} ${when}`);
    }
  }

  /** Blocks still live keep their contents, and the allocator counts them as the trace does. */
  private checkEnd(): void {
    const { opCount, idCount, finalLiveBlocks } = this.trace;
    for (let id = 0; id < idCount; id++) {
      if (this.ptrs[id] !== 0) this.verify(opCount, id, this.ptrs[id]!, this.blockSizes[id]!, "at the end");
    }
    const liveBlocks = this.allocator.stats().liveBlocks;
    if (liveBlocks !== finalLiveBlocks) {
      this.stop("stats", opCount, `the allocator reports ${liveBlocks} live blocks at the end, the trace has ${finalLiveBlocks}`);
    }
  }

  private stop(kind: ReplayFailureKind, op: number, reason: string): never {
    const where = op < this.trace.opCount ? `${describeOp(this.trace, op)}: ` : "";
    throw new ReplayStop({ kind, op, message: where + reason });
  }
}

/**
 * The bare calls (the checked pass vouched for them), each time on a fresh allocator: the fastest
 * of up to `runs` passes, as the one least disturbed by JIT warm-up and other processes; no new
 * pass starts once they have taken TIMING_BUDGET_MS (a slow pass is a steady one). Passes the
 * deadline cuts short do not count; if none finishes, the replay failed on time.
 */
function timeReplay(trace: Trace, create: () => Allocator, runs: number, deadline: number): { nsPerOp: number | null; failure: ReplayFailure | null } {
  try {
    let fastest: number | null = null;
    const start = performance.now();
    for (let run = 0; run < runs && performance.now() - start < TIMING_BUDGET_MS; run++) {
      const nsPerOp = timeBareCalls(trace, create(), deadline);
      if (nsPerOp === null) break;
      fastest = fastest === null ? nsPerOp : Math.min(fastest, nsPerOp);
    }
    if (fastest === null) return { nsPerOp: null, failure: { kind: "time-limit", op: -1, message: "timed pass: the time limit came first" } };
    return { nsPerOp: fastest, failure: null };
  } catch (error) {
    return { nsPerOp: null, failure: { kind: "allocator-error", op: -1, message: `timed pass: ${errorText(error)}` } };
  }
}

/** Mean ns per op, or null if the deadline passed first. */
function timeBareCalls(trace: Trace, allocator: Allocator, deadline: number): number | null {
  const { kinds, ids, sizes, opCount } = trace;
  const ptrs = new Uint32Array(trace.idCount);
  const start = performance.now();
  for (let op = 0; op < opCount; op++) {
    const id = ids[op]!;
    const kind = kinds[op];
    if (kind === OP_ALLOC) ptrs[id] = allocator.malloc(sizes[op]!);
    else if (kind === OP_REALLOC) ptrs[id] = allocator.realloc(ptrs[id]!, sizes[op]!);
    else allocator.free(ptrs[id]!);
    if (op % CLOCK_EVERY_OPS === 0 && performance.now() > deadline) return null;
  }
  const elapsedMs = performance.now() - start;
  return opCount === 0 ? 0 : (elapsedMs * 1e6) / opCount;
}

/** "op 12 (a 3 100)": 1-based, as a person counts ops. */
function describeOp(trace: Trace, op: number): string {
  const kind = trace.kinds[op]!;
  const size = kind === OP_FREE ? "" : ` ${trace.sizes[op]}`;
  return `op ${op + 1} (${OP_LETTERS[kind]} ${trace.ids[op]}${size})`;
}

function timeLimitStop(op: number, opCount: number): ReplayStop {
  return new ReplayStop({ kind: "time-limit", op, message: `the time limit came first, after ${op + 1} of ${opCount} ops` });
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
