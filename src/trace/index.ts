/**
 * `heapkit/trace`: allocation traces in the malloc-lab text format, parsed from bytes, replayed
 * under any allocator with content checks, and summarised. Browser-safe: reading files (gzip,
 * stdin) is `readTraceFile` in `heapkit/node`.
 */
export { parseTrace, TraceParser, MAX_TRACE_IDS } from "./parser.js";
export { TraceFormatError } from "./errors.js";
export { OP_ALLOC, OP_REALLOC, OP_FREE } from "./trace.js";
export type { Trace, TraceHeader } from "./trace.js";
export { replayTrace } from "./replay.js";
export type { ReplayFailure, ReplayFailureKind, ReplayOptions, ReplayResult } from "./replay.js";
export type { TimeSeries } from "./samples.js";
export { traceStats } from "./stats.js";
export type { HistogramBucket, TraceStats } from "./stats.js";
export { TraceStepper, InvalidStepError, type StepperOptions, type TraceOp } from "./stepper.js";
