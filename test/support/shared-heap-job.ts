/** What a SharedHeap test Worker is told (test/support/shared-heap-worker.ts). */
export interface WorkerJob {
  handle: SharedArrayBuffer;
  /** rings[from * n + to]: RING_SLOTS offsets, then head and tail words. */
  rings: SharedArrayBuffer;
  /** One bit per 16 bytes of the store: the block that starts there is held by a Worker. */
  owners: SharedArrayBuffer;
  id: number;
  workers: number;
  ops: number;
  seed: number;
  /** Detach and attach again every this many ops (0: never). */
  reattachEvery: number;
  /** Run until terminated (the killed-Worker test). */
  forever: boolean;
  /** Only slot sizes (<= 256 B) and at most this many live blocks (0: any sizes, no cap): then,
   * once warm, the Worker almost never takes the central lock, so a kill lands outside it. */
  smallLiveCap: number;
}

export const RING_SLOTS = 1024;
