/** What a SharedHeap benchmark Worker is told (bench/shared-heap-worker.ts), and what it answers. */
export interface BenchJob {
  kind: "shared" | "locked" | "private" | "heap" | "heap-unguarded";
  workload: "local" | "larson" | "xmalloc" | "cache-scratch";
  handle: SharedArrayBuffer;
  control: SharedArrayBuffer;
  ring: SharedArrayBuffer;
  larsonSlots: number;
  id: number;
  workers: number;
  /** Operations of each timed pass (and of the warm-up pass before them). */
  ops: number;
  /** Timed passes, each started together with the other Workers (a barrier before each). */
  passes: number;
}

/** One timed pass of one Worker. */
export interface PassTime {
  /** Wall-clock milliseconds. */
  ms: number;
  /** Milliseconds this Worker's thread ran on a CPU, and waited for one (Linux schedstat; NaN elsewhere). */
  cpuMs: number;
  waitMs: number;
}
