import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { policyNames } from "../src/index.js";
import { labPolicies } from "../web/src/lab-policies.js";
import { SpanSummary } from "../web/src/summary.js";

describe("lab policies", () => {
  it("offers every registry policy and the debug and hardened heaps", () => {
    const names = labPolicies.map((policy) => policy.name);
    for (const name of policyNames) assert.ok(names.includes(name), name);
    assert.ok(names.includes("debug") && names.includes("hardened"));
  });

  it("each one makes a heap of the size asked, whose walk the map and the summary can read", () => {
    for (const policy of labPolicies) {
      const allocator = policy.create(1 << 20);
      assert.equal(allocator.stats().reservedBytes <= 1 << 20, true, policy.name);
      const ptrs = [allocator.malloc(24), allocator.malloc(40), allocator.malloc(8)];
      assert.ok(ptrs.every((ptr) => ptr > 0), policy.name);
      if (policy.canFree) allocator.free(ptrs[1]!);
      const summary = new SpanSummary();
      let end = allocator.stats().baseOffset;
      allocator.walkInto((start, bytes, kind, ptr, requested, group, held) => {
        assert.equal(start, end, `${policy.name}: spans tile the region`);
        end = start + bytes;
        summary.visit(start, bytes, kind, ptr, requested, group, held);
      });
      assert.equal(summary.usedSpans, allocator.stats().liveBlocks, policy.name);
    }
  });
});
