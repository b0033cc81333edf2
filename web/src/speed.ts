/**
 * Playback speeds: ops per second for each step of the speed slider; the last is "as fast as
 * possible", a time budget per frame. `opsThisFrame` turns elapsed time into whole ops, carrying
 * the fraction over to the next frame.
 */
export const SPEED_OPS_PER_SECOND = [1, 4, 16, 64, 512, 8192, Infinity] as const;
/** At full speed, the ops of a frame may take this long, leaving the rest of the frame to drawing. */
export const FULL_SPEED_BUDGET_MS = 14;
/**
 * At full speed, ops and drawing together aim at this long a frame, leaving the browser about
 * 10 ms of a 33 ms frame (30 fps) to lay out and paint...
 */
export const FRAME_TARGET_MS = 22;
/** ...but the ops get at least this much of it, however slow the drawing. */
export const MIN_OPS_BUDGET_MS = 2;

/** The ops' share of a full-speed frame, given how long the last frames took to draw. */
export function opsBudgetMs(drawMs: number): number {
  return Math.min(FULL_SPEED_BUDGET_MS, Math.max(MIN_OPS_BUDGET_MS, FRAME_TARGET_MS - drawMs));
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

/**
 * Runs `step(chunk)` until `due` ops ran or, at full speed, until `budgetMs` passed. `step`
 * returns how many ops it ran (0 at the end). Returns the ops run.
 */
export function runBudgeted(due: number, step: (count: number) => number, now: () => number, budgetMs = FULL_SPEED_BUDGET_MS): number {
  if (due !== Infinity) return due > 0 ? step(due) : 0;
  const begin = now();
  const deadline = begin + budgetMs;
  let ran = 0;
  let chunk = FIRST_CHUNK_OPS;
  for (;;) {
    const done = step(chunk);
    ran += done;
    const at = now();
    if (done < chunk || at >= deadline) return ran;
    // The next chunk is what the rest of the budget allows at the rate seen so far.
    const msPerOp = Math.max(at - begin, 1e-3) / ran;
    chunk = Math.max(FIRST_CHUNK_OPS, Math.min(chunk * 4, Math.floor((deadline - at) / msPerOp)));
  }
}
