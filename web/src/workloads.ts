/**
 * Scripted workloads for the simulator: each makes a list of ops on fresh handles (seeded, so the
 * same name and seed give the same ops). The textbook patterns:
 *
 *   random        allocs and frees mixed at random (60 % allocs), sizes log-uniform
 *   lifo          n allocs, then n frees, newest first (a stack: holes close at the top)
 *   fifo          n allocs, then n frees, oldest first (a queue)
 *   coalescing    n equal blocks; free every other one (holes that cannot merge), then the rest
 *                 (each free merges with the holes on both sides)
 *   binary        small and large blocks alternate; the large ones are freed; then blocks a bit
 *                 larger than the holes are asked for: plenty of free bytes, none usable
 *                 (the binary-fragmentation traces of the malloc labs)
 */
import type { SimOp } from "./session.js";

export const WORKLOAD_NAMES = ["random", "lifo", "fifo", "coalescing", "binary"] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

export interface WorkloadOptions {
  /** Blocks allocated (for random: ops made). */
  count: number;
  seed: number;
  minBytes: number;
  maxBytes: number;
}

/** A small seeded generator (mulberry32): numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function makeWorkload(name: WorkloadName, options: WorkloadOptions, newHandle: () => number): SimOp[] {
  const random = seededRandom(options.seed);
  const size = () => logUniform(random, options.minBytes, options.maxBytes);
  switch (name) {
    case "random":
      return randomOps(options.count, random, size, newHandle);
    case "lifo": {
      const allocs = allocMany(options.count, size, newHandle);
      return [...allocs, ...frees(allocs).reverse()];
    }
    case "fifo": {
      const allocs = allocMany(options.count, size, newHandle);
      return [...allocs, ...frees(allocs)];
    }
    case "coalescing": {
      const bytes = size();
      const allocs = allocMany(options.count, () => bytes, newHandle);
      const all = frees(allocs);
      return [...allocs, ...all.filter((_, i) => i % 2 === 0), ...all.filter((_, i) => i % 2 === 1)];
    }
    case "binary":
      return binaryFragmentation(options, newHandle);
  }
}

function logUniform(random: () => number, min: number, max: number): number {
  const lo = Math.log(Math.max(1, min));
  const hi = Math.log(Math.max(min, max));
  return Math.round(Math.exp(lo + random() * (hi - lo)));
}

function allocMany(count: number, size: () => number, newHandle: () => number): SimOp[] {
  return Array.from({ length: count }, () => ({ kind: "malloc", handle: newHandle(), size: size() }) as const);
}

function frees(allocs: readonly SimOp[]): SimOp[] {
  return allocs.map((op) => ({ kind: "free", handle: op.handle }) as const);
}

function randomOps(count: number, random: () => number, size: () => number, newHandle: () => number): SimOp[] {
  const ops: SimOp[] = [];
  const live: number[] = [];
  for (let i = 0; i < count; i++) {
    if (live.length === 0 || random() < 0.6) {
      const handle = newHandle();
      live.push(handle);
      ops.push({ kind: "malloc", handle, size: size() });
    } else {
      const at = Math.floor(random() * live.length);
      const handle = live[at]!;
      live[at] = live[live.length - 1]!;
      live.pop();
      ops.push({ kind: "free", handle });
    }
  }
  return ops;
}

function binaryFragmentation(options: WorkloadOptions, newHandle: () => number): SimOp[] {
  const small = Math.max(1, options.minBytes);
  const large = Math.max(small * 2, Math.min(options.maxBytes, small * 7));
  const pairs = Math.max(1, Math.floor(options.count / 2));
  const ops: SimOp[] = [];
  const larges: number[] = [];
  for (let i = 0; i < pairs; i++) {
    ops.push({ kind: "malloc", handle: newHandle(), size: small });
    const handle = newHandle();
    larges.push(handle);
    ops.push({ kind: "malloc", handle, size: large });
  }
  for (const handle of larges) ops.push({ kind: "free", handle });
  for (let i = 0; i < pairs; i++) ops.push({ kind: "malloc", handle: newHandle(), size: large + small });
  return ops;
}
