/**
 * Replays a trace against any `Allocator`: one checked pass, then timed passes, each on a fresh
 * allocator from `create`:
 *
 *   checked pass   the stepping replayer (stepper.ts): every block carries a pattern (verified on
 *                  free, realloc and at the end), check() and the live count at the end; samples
 *                  stats for plots; snapshots stats right after the peak-live op; stops at the
 *                  first failure (malloc/realloc returned 0, an allocator threw, a block lost its
 *                  contents, check() threw, final stats disagree with the trace).
 *   timed passes   only if the checked pass succeeded: the bare calls, timed, up to three times
 *                  (fewer past a second) on fresh allocators -> ns per op of the fastest.
 *
 * Peak live bytes come from the trace (requested bytes). The peak extent is the allocator's own
 * `peakExtentBytes` gauge (kept up to date by the allocator on every op that grows the extent),
 * checked against what the replay sees: the samples and the highest block end handed out.
 * The timed loop is bare calls on one typed array of pointers; nothing is allocated per op.
 */
import type { Allocator, AllocatorStats } from "../allocator.js";
import { addSample, DEFAULT_SAMPLE_COUNT, emptySeries, sampleInterval, type TimeSeries } from "./samples.js";
import { TraceStepper, type ReplayFailure } from "./stepper.js";
import { OP_ALLOC, OP_REALLOC, type Trace } from "./trace.js";

export type { ReplayFailure, ReplayFailureKind } from "./stepper.js";

export interface ReplayOptions {
  /** Samples over time, for plots; 0 for none (stats can cost a walk of the heap). @defaultValue 200 */
  sampleCount?: number;
  /** Stop (failure kind "time-limit") once all passes together have run this long. */
  timeLimitMs?: number;
  /**
   * Timed passes after the checked one (more for a short trace: until the passes hold
   * WARM_UP_OPS ops, within a second); ns per op is the fastest; 0 skips timing. @defaultValue 3
   */
  timedRuns?: number;
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
/**
 * Ops the timed passes of a short trace hold together at least: a short trace ends before V8 has
 * settled on its code for the allocator, which would time the JIT, not the allocator (a 6,000-op
 * trace of git diff took 1,700 ns an op in three passes, 190 in forty; espresso's 144,000 ops
 * 57 to 163 ns an op in three passes from process to process, 57 to 61 in seven).
 */
const WARM_UP_OPS = 1_000_000;
/** Most passes a short trace gets, and the least ops for it to get more than `timedRuns` (a trace of a few ops times nothing). */
const MAX_PASSES = 40;
const MIN_WARM_UP_TRACE_OPS = 1000;

/** How many ops run between looks at the clock. */
const CLOCK_EVERY_OPS = 1024;

/**
 * Replays `trace` under a new allocator from `create`: a checked pass that writes a pattern into
 * every block and verifies it on free and realloc, then `timedRuns` timed passes of the bare calls.
 */
export function replayTrace(trace: Trace, create: () => Allocator, options: ReplayOptions = {}): ReplayResult {
  const deadline = performance.now() + (options.timeLimitMs ?? Infinity);
  const checked = checkedPass(trace, create, options.sampleCount ?? DEFAULT_SAMPLE_COUNT, deadline);
  const failure = checked.failure;
  const final = checked.stepper.allocator.stats();
  const timedRuns = options.timedRuns ?? DEFAULT_TIMED_RUNS;
  const timed = failure === null && timedRuns > 0 ? timeReplay(trace, create, timedRuns, deadline) : { nsPerOp: null, failure };
  const peakExtentBytes = Math.max(final.peakExtentBytes, checked.stepper.highestBlockEnd, ...checked.series.extentBytes);
  return {
    trace: trace.name,
    allocator: checked.stepper.allocator.name,
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

interface CheckedPass {
  stepper: TraceStepper;
  series: TimeSeries;
  atPeak: AllocatorStats | null;
  failure: ReplayFailure | null;
}

/**
 * The checked pass on the stepping replayer: it stops where a sample, the peak-live op or a look
 * at the clock is due, and steps on to the next such op.
 */
function checkedPass(trace: Trace, create: () => Allocator, sampleCount: number, deadline: number): CheckedPass {
  const stepper = new TraceStepper(trace, create, { reopen: null });
  const pass: CheckedPass = { stepper, series: emptySeries(), atPeak: null, failure: null };
  const { opCount, peakLiveOp } = trace;
  const interval = sampleCount === 0 ? Infinity : sampleInterval(opCount, sampleCount);
  if (sampleCount > 0) addSample(pass.series, 0, 0, stepper.allocator.stats());
  while (!stepper.done && stepper.failure === null) {
    const at = stepper.opIndex;
    const peakStop = peakLiveOp + 1 > at ? peakLiveOp + 1 : Infinity;
    const next = Math.min(opCount, nextMultiple(at, interval), nextMultiple(at, CLOCK_EVERY_OPS), peakStop);
    stepper.step(next - at);
    if (stepper.failure !== null) break;
    const reached = stepper.opIndex;
    if (reached === peakLiveOp + 1) pass.atPeak = stepper.allocator.stats();
    if (sampleCount > 0 && (reached % interval === 0 || reached === opCount)) addSample(pass.series, reached, stepper.liveBytes, stepper.allocator.stats());
    if (reached < opCount && performance.now() > deadline) {
      return { ...pass, failure: { kind: "time-limit", op: reached, message: `the time limit came first, after ${reached} of ${opCount} ops` } };
    }
  }
  return { ...pass, failure: stepper.failure };
}

function nextMultiple(at: number, every: number): number {
  return every === Infinity ? Infinity : (Math.floor(at / every) + 1) * every;
}

/**
 * The bare calls (the checked pass vouched for them), each time on a fresh allocator: the fastest
 * of up to `runs` passes (more for a short trace: WARM_UP_OPS), as the one least disturbed by JIT
 * warm-up and other processes; no new
 * pass starts once they have taken TIMING_BUDGET_MS (a slow pass is a steady one). Passes the
 * deadline cuts short do not count; if none finishes, the replay failed on time.
 */
function timeReplay(trace: Trace, create: () => Allocator, runs: number, deadline: number): { nsPerOp: number | null; failure: ReplayFailure | null } {
  try {
    let fastest: number | null = null;
    const start = performance.now();
    const passes = trace.opCount < MIN_WARM_UP_TRACE_OPS ? runs : Math.min(MAX_PASSES, Math.max(runs, Math.ceil(WARM_UP_OPS / trace.opCount)));
    for (let run = 0; run < passes && performance.now() - start < TIMING_BUDGET_MS; run++) {
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

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
