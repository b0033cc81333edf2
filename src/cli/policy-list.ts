/**
 * The CLI's view of the `policies` registry: which names exist, which can replay a general
 * malloc/realloc/free trace, and why the others cannot.
 */
import type { Allocator } from "../allocator.js";
import { policies } from "../policies.js";
import { UsageError } from "./usage.js";

export const DEFAULT_POLICY = "heap";

export interface PolicyChoice {
  name: string;
  description: string;
  /** null when the policy can replay a trace, else why not. */
  cannotReplay: string | null;
  create(): Allocator;
}

export function allPolicies(): PolicyChoice[] {
  return Object.values(policies).map((policy) => ({
    name: policy.name,
    description: policy.description,
    cannotReplay: policy.replaysTraces ? null : policy.replayLimit ?? "cannot replay a general trace",
    create: () => policy.create(),
  }));
}

/** The policies named in a comma-separated list (all of them when absent). */
export function choosePolicies(list: string | undefined): PolicyChoice[] {
  const all = allPolicies();
  if (list === undefined) return all;
  return list.split(",").map((name) => findPolicy(all, name.trim()));
}

/** A policy that can replay traces, or a UsageError saying why not. */
export function replayablePolicy(name: string): PolicyChoice {
  const policy = findPolicy(allPolicies(), name);
  if (policy.cannotReplay !== null) throw new UsageError(`allocator ${JSON.stringify(name)} cannot replay a trace: ${policy.cannotReplay}`);
  return policy;
}

function findPolicy(all: PolicyChoice[], name: string): PolicyChoice {
  const policy = all.find((candidate) => candidate.name === name);
  if (policy === undefined) {
    throw new UsageError(`unknown allocator ${JSON.stringify(name)}: choose from ${all.map((p) => p.name).join(", ")}`);
  }
  return policy;
}
