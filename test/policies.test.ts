import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { policies, policyNames } from "../src/policies.js";
import { ReferenceModel, rng } from "./support/model.js";
import { STORE_KINDS } from "./support/kinds.js";

const EXPECTED = ["heap", "pool", "arena", "stack", "ring", "fifo", "buddy", "first-fit", "next-fit", "best-fit", "shared-heap"];

describe("policies registry", () => {
  it("names every policy once, keyed by its name", () => {
    assert.deepEqual([...policyNames].sort(), [...EXPECTED].sort());
    for (const name of policyNames) {
      const policy = policies[name];
      assert.equal(policy.name, name);
      assert.ok(policy.description.length > 10 && !policy.description.includes("\n"), `${name}: one-line description`);
      if (!policy.replaysTraces) assert.ok("replayLimit" in policy && policy.replayLimit, `${name} says why it cannot replay traces`);
      if (policy.replaysTraces) assert.ok(policy.canFree, `${name}: replaying traces needs free in any order`);
    }
  });

  for (const name of EXPECTED) {
    it(`${name}: create() works without options and the allocator works`, () => {
      const allocator = policies[name as keyof typeof policies].create();
      assert.equal(allocator.name, name);
      const a = allocator.malloc(24);
      const b = allocator.malloc(24);
      assert.ok(a > 0 && b > 0 && a !== b);
      allocator.free(b);
      if (policies[name as keyof typeof policies].canFree) allocator.free(a);
      allocator.check();
      assert.equal(allocator.stats().liveBlocks, policies[name as keyof typeof policies].canFree ? 0 : 1);
    });
  }

  it("says which store kinds each policy accepts, and makes each one on every kind it names", () => {
    for (const name of policyNames) {
      const kinds = policies[name].storeKinds;
      assert.ok(kinds.length > 0 && kinds.every((kind) => STORE_KINDS.includes(kind)), `${name}: storeKinds ${kinds}`);
      for (const kind of kinds) assert.equal(policies[name].create({ kind } as never).store.kind, kind, `${name} on ${kind}`);
    }
  });

  for (const name of EXPECTED.filter((n) => policies[n as keyof typeof policies].replaysTraces)) {
    for (const kind of policies[name as keyof typeof policies].storeKinds) {
      it(`${name} replays random malloc/realloc/free on ${kind}`, () => {
        const allocator = policies[name as keyof typeof policies].create({ kind, initialBytes: 1 << 20 });
        const model = new ReferenceModel(allocator);
        const random = rng(51);
        for (let step = 0; step < 400; step++) {
          const r = random();
          if (r < 0.5 || model.live.size === 0) model.malloc(Math.floor(random() * 2000));
          else if (r < 0.85) model.free(model.pick(random())!);
          else model.realloc(model.pick(random())!, Math.floor(random() * 3000));
        }
        model.verifyAll();
      });
    }
  }
});
