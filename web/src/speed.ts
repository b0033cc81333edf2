/**
 * Playback speeds: ops per second for each step of the speed slider; the last is "as fast as
 * possible", a time budget per frame. `opsThisFrame` turns elapsed time into whole ops, carrying
 * the fraction over to the next frame.
 */
export const SPEED_OPS_PER_SECOND = [1, 4, 16, 64, 512, 8192, Infinity] as const;
/** At full speed, the ops of a frame take at most this long... */
export const FULL_SPEED_BUDGET_MS = 14;
/** ...and at least this long, however slow the frames. */
export const MIN_OPS_BUDGET_MS = 1;
/**
 * At full speed, frames aim at this interval (rAF to rAF): under 33 ms (30 fps) with room for
 * what the browser does between frames and for the frames that update the numbers and the plot.
 */
export const FRAME_TARGET_MS = 26;
/** How much of each frame's interval the average takes in, and how fast the budget follows it. */
const FRAME_SMOOTHING = 0.25;
const BUDGET_GAIN = 0.3;

/**
 * The ops' share of a full-speed frame, steered by the frame interval measured: shorter when
 * frames come slower than FRAME_TARGET_MS (slow drawing, a busy machine), longer when faster.
 * The frame rate is what is held; the ops get whatever time is left.
 */
export class FrameBudget {
  budgetMs = FULL_SPEED_BUDGET_MS / 2;
  private frameMs = FRAME_TARGET_MS;

  /** After a frame that came `frameMs` after the one before: the ops' budget for the next. */
  next(frameMs: number): number {
    this.frameMs += (Math.min(frameMs, 250) - this.frameMs) * FRAME_SMOOTHING;
    const budget = this.budgetMs + (FRAME_TARGET_MS - this.frameMs) * BUDGET_GAIN;
    this.budgetMs = Math.min(FULL_SPEED_BUDGET_MS, Math.max(MIN_OPS_BUDGET_MS, budget));
    return this.budgetMs;
  }
}

/** The first chunk of ops at full speed, before the rate is known. */
const FIRST_CHUNK_OPS = 64;

export function speedLabel(level: number): string {
  const rate = SPEED_OPS_PER_SECOND[level] ?? 1;
  return rate === Infinity ? "full speed" : `${rate} ops/s`;
}

/** Absorbs the rounding of many small frame times (60 frames of 1000/60 ms make one second). */
const CARRY_EPSILON = 1e-9;

export class OpClock {
  private carry = 0;

  /** Ops due after `elapsedMs` at `level` (Infinity at full speed: run until the budget is spent). */
  opsThisFrame(level: number, elapsedMs: number): number {
    const rate = SPEED_OPS_PER_SECOND[level] ?? 1;
    if (rate === Infinity) return Infinity;
    this.carry += (rate * Math.min(elapsedMs, 250)) / 1000;
    const due = Math.floor(this.carry + CARRY_EPSILON);
    this.carry -= due;
    return due;
  }

  reset(): void {
    this.carry = 0;
  }
}

/** How long an op took lately, carried from frame to frame by the caller of runBudgeted. */
export interface OpRate {
  msPerOp: number;
}

/** At full speed, a frame's first chunk takes about this share of its budget, at the rate seen before. */
const FIRST_CHUNK_SHARE = 0.25;

/**
 * Runs `step(chunk)` until `due` ops ran or, at full speed, until `budgetMs` passed. `step`
 * returns how many ops it ran (0 at the end). Returns the ops run. With `rate`, the first chunk
 * is sized from the rate seen in the frames before (down to one op, where ops are slow: a chunk
 * of a fixed size would overrun a small budget), and the rate seen now is left in it.
 */
export function runBudgeted(due: number, step: (count: number) => number, now: () => number, budgetMs = FULL_SPEED_BUDGET_MS, rate?: OpRate): number {
  if (due !== Infinity) return due > 0 ? step(due) : 0;
  const begin = now();
  const deadline = begin + budgetMs;
  let ran = 0;
  let chunk = rate !== undefined && rate.msPerOp > 0 ? Math.max(1, Math.floor((budgetMs * FIRST_CHUNK_SHARE) / rate.msPerOp)) : FIRST_CHUNK_OPS;
  for (;;) {
    const done = step(chunk);
    ran += done;
    const at = now();
    // The next chunk is what the rest of the budget allows at the rate seen so far.
    const msPerOp = Math.max(at - begin, 1e-3) / Math.max(ran, 1);
    if (rate !== undefined && ran > 0) rate.msPerOp = msPerOp;
    if (done < chunk || at >= deadline) return ran;
    chunk = Math.max(1, Math.min(chunk * 4, Math.floor((deadline - at) / msPerOp)));
  }
}
