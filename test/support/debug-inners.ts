/**
 * The general-purpose allocators the debug and hardened wrappers are tested over: every policy
 * that can malloc and free arbitrary sizes (the heap, the buddy system, first/next/best fit).
 */
import type { Allocator } from "../../src/allocator.js";
import { Buddy } from "../../src/allocators/buddy.js";
import { FitAllocator } from "../../src/allocators/fits.js";
import { Heap } from "../../src/heap/heap.js";

export interface InnerCase {
  name: string;
  create: () => Allocator;
}

export const GENERAL_PURPOSE_ALLOCATORS: readonly InnerCase[] = [
  { name: "heap", create: () => new Heap() },
  { name: "buddy", create: () => new Buddy() },
  { name: "first-fit", create: () => new FitAllocator({ fit: "first" }) },
  { name: "next-fit", create: () => new FitAllocator({ fit: "next" }) },
  { name: "best-fit", create: () => new FitAllocator({ fit: "best" }) },
];
