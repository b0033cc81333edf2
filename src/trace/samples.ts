/**
 * The over-time record of a replay, for plots: a fixed number of evenly spaced samples, stored as
 * parallel number arrays (one column per measure, JSON-friendly and cheap to post between
 * threads). Sample k is taken after `op[k]` ops; the first is the empty heap at op 0.
 */
import type { AllocatorStats } from "../allocator.js";

export interface TimeSeries {
  op: number[];
  /** Requested bytes live, from the trace. */
  liveBytes: number[];
  extentBytes: number[];
  committedBytes: number[];
  freeBytes: number[];
  internalFragmentationBytes: number[];
  externalFragmentation: number[];
}

/** @defaultValue for `ReplayOptions.sampleCount` */
export const DEFAULT_SAMPLE_COUNT = 200;

export function emptySeries(): TimeSeries {
  return {
    op: [],
    liveBytes: [],
    extentBytes: [],
    committedBytes: [],
    freeBytes: [],
    internalFragmentationBytes: [],
    externalFragmentation: [],
  };
}

export function addSample(series: TimeSeries, op: number, liveBytes: number, stats: AllocatorStats): void {
  series.op.push(op);
  series.liveBytes.push(liveBytes);
  series.extentBytes.push(stats.extentBytes);
  series.committedBytes.push(stats.committedBytes);
  series.freeBytes.push(stats.freeBytes);
  series.internalFragmentationBytes.push(stats.internalFragmentationBytes);
  series.externalFragmentation.push(stats.externalFragmentation);
}

/** Ops between samples so that about `sampleCount` samples cover `opCount` ops. */
export function sampleInterval(opCount: number, sampleCount: number): number {
  return Math.max(1, Math.ceil(opCount / Math.max(1, sampleCount)));
}
