/**
 * The registry of allocator policies: every name the CLI, the lab and the benches accept, what
 * each one is (one line), how to make one (`create()` works without options, on a new resizable
 * store; pass StoreOptions or `store` to run it on any byte store), and what it can do:
 *
 *   policy      canFree  replaysTraces  why not
 *   ----------  -------  -------------  --------------------------------------------------------
 *   heap        yes      yes
 *   buddy       yes      yes
 *   first-fit   yes      yes
 *   next-fit    yes      yes
 *   best-fit    yes      yes
 *   ring        yes      no             reclaims in allocation order: one long-lived block pins the rest
 *   fifo        yes      no             a block must fit in one page
 *   pool        yes      no             one object size
 *   arena       no       no             frees only the last block: mark/release or reset
 *   stack       no       no             frees only the last block: push/pop frames
 *   shared-heap yes      yes            (runs on shared stores only: storeKinds ["shared"])
 *
 * canFree: any live block can be freed, in any order. replaysTraces: a general malloc/realloc/
 * free trace (any sizes, any order) can be replayed; otherwise replayLimit says why not.
 * storeKinds: the byte stores it runs on (all five kinds, but for the shared heap: shared only).
 */
import type { Allocator } from "./allocator.js";
import { Arena, type ArenaOptions } from "./allocators/arena.js";
import { Buddy, type BuddyOptions } from "./allocators/buddy.js";
import { Fifo, type FifoOptions } from "./allocators/fifo.js";
import { FitAllocator, type FitOptions } from "./allocators/fits.js";
import { Pool, type PoolOptions } from "./allocators/pool.js";
import { Ring, type RingOptions } from "./allocators/ring.js";
import { Stack, type StackOptions } from "./allocators/stack.js";
import { Heap, type HeapOptions } from "./heap/heap.js";
import { SharedHeap, type SharedHeapOptions } from "./shared/shared-heap.js";
import type { StoreKind } from "./memory/store.js";

/** Every store kind: the policies below run on any of them (pass `kind` or a `store` to create()). */
const ANY_STORE: readonly StoreKind[] = ["array-buffer", "reserved", "resizable", "shared", "wasm"];

export interface Policy<Options = unknown> {
  readonly name: string;
  /** One line. */
  readonly description: string;
  /** Any live block can be freed, in any order. */
  readonly canFree: boolean;
  /** A general malloc/realloc/free trace can be replayed. */
  readonly replaysTraces: boolean;
  /** Why a trace cannot be replayed, when it cannot. */
  readonly replayLimit?: string;
  /** The store kinds it accepts: tools and tests make it only on these. */
  readonly storeKinds: readonly StoreKind[];
  create(options?: Options): Allocator;
}

/**
 * The registry of allocator policies, by name: what each is, whether it can free and replay
 * traces, and `create(options)` for a new one. The CLI and the lab choose policies from it.
 *
 * @example
 * ```ts
 * for (const name of policyNames) console.log(name, policies[name].description);
 * const buddy = policies.buddy.create();
 * ```
 */
export const policies = {
  heap: {
    name: "heap",
    description: "general-purpose heap: slabs of size classes up to 8176 bytes, TLSF with boundary tags and immediate coalescing for the rest (a few freed mid-sized blocks cached for reuse, as glibc's tcache)",
    canFree: true,
    replaysTraces: true,
    storeKinds: ANY_STORE,
    create: (options?: HeapOptions) => new Heap(options),
  },
  buddy: {
    name: "buddy",
    description: "binary buddy system: power-of-two blocks split and merged with their buddies",
    canFree: true,
    replaysTraces: true,
    storeKinds: ANY_STORE,
    create: (options?: BuddyOptions) => new Buddy(options),
  },
  "first-fit": {
    name: "first-fit",
    description: "one address-ordered free list; malloc takes the first hole that fits",
    canFree: true,
    replaysTraces: true,
    storeKinds: ANY_STORE,
    create: (options?: Omit<FitOptions, "fit">) => new FitAllocator({ ...options, fit: "first" }),
  },
  "next-fit": {
    name: "next-fit",
    description: "one address-ordered free list; each search resumes where the last one stopped",
    canFree: true,
    replaysTraces: true,
    storeKinds: ANY_STORE,
    create: (options?: Omit<FitOptions, "fit">) => new FitAllocator({ ...options, fit: "next" }),
  },
  "best-fit": {
    name: "best-fit",
    description: "one address-ordered free list; malloc takes the smallest hole that fits",
    canFree: true,
    replaysTraces: true,
    storeKinds: ANY_STORE,
    create: (options?: Omit<FitOptions, "fit">) => new FitAllocator({ ...options, fit: "best" }),
  },
  ring: {
    name: "ring",
    description: "circular buffer: space is reclaimed as the oldest blocks are freed (message pipelines)",
    canFree: true,
    replaysTraces: false,
    replayLimit: "reclaims only in allocation order: one long-lived block pins the ring",
    storeKinds: ANY_STORE,
    create: (options?: RingOptions) => new Ring(options),
  },
  fifo: {
    name: "fifo",
    description: "blocks bumped into pages, freed in any order; pages reused in the order they emptied",
    canFree: true,
    replaysTraces: false,
    replayLimit: "a block must fit in one page (16 KiB by default)",
    storeKinds: ANY_STORE,
    create: (options?: FifoOptions) => new Fifo(options),
  },
  pool: {
    name: "pool",
    description: "slab pool of fixed-size objects (64 bytes by default): O(1) malloc and free",
    canFree: true,
    replaysTraces: false,
    replayLimit: "one object size: larger requests are invalid sizes",
    storeKinds: ANY_STORE,
    create: (options?: PoolOptions) => new Pool(options),
  },
  arena: {
    name: "arena",
    description: "bump allocator: everything freed at once with reset() or back to a mark",
    canFree: false,
    replaysTraces: false,
    replayLimit: "frees only the last block; the rest go with release(mark) or reset()",
    storeKinds: ANY_STORE,
    create: (options?: ArenaOptions) => new Arena(options),
  },
  stack: {
    name: "stack",
    description: "bump allocator in frames: pop(frame) or a disposed scope() frees all since push()",
    canFree: false,
    replaysTraces: false,
    replayLimit: "frees only the last block; the rest go with pop(frame)",
    storeKinds: ANY_STORE,
    create: (options?: StackOptions) => new Stack(options),
  },
  "shared-heap": {
    name: "shared-heap",
    description: "one heap for many Workers at once: per-thread pages of 32 classes up to 4 KiB with lock-free remote frees, a central Heap under one lock for the rest",
    canFree: true,
    replaysTraces: true,
    storeKinds: ["shared"],
    create: (options?: SharedHeapOptions) => new SharedHeap(options),
  },
} as const satisfies Record<string, Policy<never>>;

export type PolicyName = keyof typeof policies;

/** Every policy name, in registry order. */
export const policyNames = Object.keys(policies) as PolicyName[];
