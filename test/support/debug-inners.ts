/**
 * The general-purpose allocators the debug and hardened wrappers are tested over: every policy
 * that can malloc and free arbitrary sizes. Heap and Buddy are imported; the fit allocators come
 * from the policies registry when it exists (loaded at run time, so these tests compile and run
 * before it lands).
 */
import type { Allocator } from "../../src/allocator.js";
import { Buddy } from "../../src/allocators/buddy.js";
import { Heap } from "../../src/heap/heap.js";

export interface InnerCase {
  name: string;
  create: () => Allocator;
}

/** Registry names of the general-purpose fit policies, if the registry has them. */
const FIT_POLICY_NAMES = ["first-fit", "next-fit", "best-fit"];

export async function generalPurposeAllocators(): Promise<InnerCase[]> {
  const cases: InnerCase[] = [
    { name: "heap", create: () => new Heap() },
    { name: "buddy", create: () => new Buddy() },
  ];
  const registry = await loadRegistry();
  if (registry !== undefined) {
    for (const name of FIT_POLICY_NAMES) {
      const policy = registry[name];
      if (policy !== undefined) cases.push({ name, create: () => policy.create() });
    }
  }
  return cases;
}

type Registry = Record<string, { create: () => Allocator } | undefined>;

async function loadRegistry(): Promise<Registry | undefined> {
  const url = new URL("../../src/policies.js", import.meta.url).href;
  try {
    const module = (await import(url)) as { policies?: Registry };
    return module.policies;
  } catch {
    return undefined;
  }
}
