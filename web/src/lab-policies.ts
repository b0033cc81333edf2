/**
 * The policies the lab offers: every entry of heapkit's `policies` registry, plus the debug and
 * hardened heaps (wrappers around a Heap) where the registry does not list them itself.
 */
import { DebugHeap, HardenedHeap, policies, policyNames, type Allocator } from "heapkit";

export interface LabPolicy {
  name: string;
  description: string;
  canFree: boolean;
  /** Makes a fresh allocator that may grow to `maxBytes`. */
  create(maxBytes: number): Allocator;
}

const INITIAL_BYTES = 65536;

function storeOptions(maxBytes: number): { initialBytes: number; maxBytes: number } {
  return { initialBytes: Math.min(INITIAL_BYTES, maxBytes), maxBytes };
}

function fromRegistry(): LabPolicy[] {
  return policyNames.map((name) => {
    const policy = policies[name];
    return {
      name,
      description: policy.description,
      canFree: policy.canFree,
      create: (maxBytes: number) => (policy.create as (options: object) => Allocator)(storeOptions(maxBytes)),
    };
  });
}

const wrappers: LabPolicy[] = [
  {
    name: "debug",
    description: "DebugHeap over a Heap: red zones, poisoned quarantine, double-free and overflow reports",
    canFree: true,
    create: (maxBytes) => new DebugHeap(policies.heap.create(storeOptions(maxBytes)), { quarantineBytes: 64 << 10 }),
  },
  {
    name: "hardened",
    description: "HardenedHeap over a Heap: checksummed headers, delayed reuse",
    canFree: true,
    create: (maxBytes) => new HardenedHeap(policies.heap.create(storeOptions(maxBytes)), { quarantineBytes: 64 << 10 }),
  },
];

export const labPolicies: LabPolicy[] = [
  ...fromRegistry(),
  ...wrappers.filter((wrapper) => !(policyNames as string[]).includes(wrapper.name)),
];

export function labPolicy(name: string): LabPolicy {
  const policy = labPolicies.find((candidate) => candidate.name === name);
  if (policy === undefined) throw new Error(`no policy named ${JSON.stringify(name)}`);
  return policy;
}
