/** What a SharedHeap benchmark Worker is told (bench/shared-heap-worker.ts). */
export interface BenchJob {
  kind: "shared" | "locked" | "private" | "heap" | "heap-unguarded";
  workload: "local" | "larson" | "xmalloc" | "cache-scratch";
  handle: SharedArrayBuffer;
  control: SharedArrayBuffer;
  ring: SharedArrayBuffer;
  larsonSlots: number;
  id: number;
  workers: number;
  ops: number;
}
