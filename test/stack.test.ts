import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HeapCorruptionError, InvalidFreeError, InvalidSizeError, UnsupportedOperationError } from "../src/errors.js";
import { FrameMismatchError, Stack, type StackFrame } from "../src/allocators/stack.js";
import { DATA_START } from "../src/allocators/bump.js";
import { ReferenceModel, rng } from "./support/model.js";
import { STORE_KINDS } from "./support/kinds.js";

describe("Stack", () => {
  // Two seeds a kind, each kind its own: ten random sequences in all.
  for (const [k, kind] of STORE_KINDS.entries()) {
    for (const seed of [21 + 2 * k, 22 + 2 * k]) {
      it(`random nested frames against the model on ${kind} (seed ${seed})`, () => {
        const stack = new Stack({ kind, initialBytes: kind === "array-buffer" ? 65536 : 4096 });
        const model = new ReferenceModel(stack);
        const random = rng(seed);
        const frames: { frame: StackFrame; top: number }[] = [];
        let mismatches = 0;
        let pops = 0;
        for (let step = 0; step < 2000; step++) {
          const r = random();
          if (r < 0.45) {
            model.malloc(Math.floor(random() * 150));
          } else if (r < 0.55 && model.live.size > 0) {
            const last = Math.max(...model.live.keys());
            if (last > (frames.at(-1)?.top ?? 0)) model.free(last);
          } else if (r < 0.7) {
            frames.push({ top: stack.stats().extentBytes, frame: stack.push() });
          } else if (r < 0.75 && frames.length > 1) {
            const outer = frames[Math.floor(random() * (frames.length - 1))]!;
            assert.throws(() => stack.pop(outer.frame), FrameMismatchError);
            mismatches++;
          } else if (frames.length > 0) {
            const { frame, top } = frames.pop()!;
            model.verifyAll();
            stack.pop(frame);
            for (const ptr of [...model.live.keys()]) if (ptr > top) model.live.delete(ptr);
            assert.equal(stack.stats().extentBytes, top, "the top is back where the frame was pushed");
            pops++;
          }
          assert.equal(stack.depth, frames.length);
          model.checkLaws();
        }
        assert.ok(pops > 50 && mismatches > 10, `exercised pops (${pops}) and mismatches (${mismatches})`);
        while (frames.length > 0) {
          const { frame, top } = frames.pop()!;
          stack.pop(frame);
          for (const ptr of [...model.live.keys()]) if (ptr > top) model.live.delete(ptr);
        }
        model.verifyAll();
      });
    }
  }

  it("pop frees exactly what was allocated since the push", () => {
    const stack = new Stack();
    const keep = stack.malloc(24);
    const top = stack.stats().extentBytes;
    const frame = stack.push();
    stack.malloc(100);
    stack.malloc(100);
    assert.equal(stack.stats().liveBlocks, 3);
    stack.pop(frame);
    assert.equal(stack.stats().liveBlocks, 1);
    assert.equal(stack.stats().extentBytes, top, "the top is back where it was before the push");
    assert.equal(stack.usableSize(keep), 24);
    stack.check();
  });

  it("scope() frees on exit, also when the block throws", () => {
    const stack = new Stack();
    const outside = stack.malloc(8);
    const top = stack.stats().extentBytes;
    {
      using _ = stack.scope();
      stack.malloc(64);
      assert.equal(stack.depth, 1);
    }
    assert.equal(stack.depth, 0);
    assert.equal(stack.stats().liveBlocks, 1);
    assert.throws(() => {
      using _outer = stack.scope();
      stack.malloc(32);
      {
        using _inner = stack.scope();
        stack.malloc(32);
        throw new Error("boom");
      }
    }, /boom/);
    assert.equal(stack.depth, 0, "both scopes closed");
    assert.equal(stack.stats().liveBlocks, 1);
    assert.equal(stack.stats().extentBytes, top);
    assert.equal(stack.usableSize(outside), 8);
    stack.check();
  });

  it("a mismatched pop is a FrameMismatchError and changes nothing", () => {
    const stack = new Stack();
    const outer = stack.push();
    stack.malloc(10);
    const inner = stack.push();
    stack.malloc(10);
    const before = stack.stats();
    assert.throws(() => stack.pop(outer), (e: unknown) => e instanceof FrameMismatchError && /innermost open frame is/.test(e.message));
    assert.throws(() => stack.pop(12345), FrameMismatchError);
    assert.throws(() => stack.pop(NaN), FrameMismatchError);
    assert.deepEqual(stack.stats(), before);
    assert.equal(stack.depth, 2);
    stack.check();
    stack.pop(inner);
    assert.throws(() => stack.pop(inner), FrameMismatchError, "popped already");
    stack.pop(outer);
    assert.throws(() => stack.pop(outer), /no frame is open/);
    stack.check();
  });

  it("a stale frame handle never matches a new frame at the same offset", () => {
    const stack = new Stack();
    const first = stack.push();
    stack.pop(first);
    const second = stack.push();
    assert.notEqual(first, second);
    assert.throws(() => stack.pop(first), FrameMismatchError);
    stack.pop(second);
  });

  it("frees only the last block; frame records are not blocks", () => {
    const stack = new Stack();
    const a = stack.malloc(8);
    stack.push();
    const b = stack.malloc(8);
    assert.throws(() => stack.free(a), UnsupportedOperationError);
    stack.free(b);
    const record = [...stack.walk()].find((block) => block.kind === "meta" && block.start >= DATA_START)!;
    assert.throws(() => stack.free(record.start + 8), InvalidFreeError);
    assert.throws(() => stack.free(b), InvalidFreeError);
    assert.throws(() => stack.malloc(-1), InvalidSizeError);
    stack.check();
  });

  it("reset closes every frame", () => {
    const stack = new Stack();
    const frame = stack.push();
    stack.malloc(10);
    stack.reset();
    assert.equal(stack.depth, 0);
    assert.throws(() => stack.pop(frame), FrameMismatchError);
    stack.check();
  });

  it("check() catches a broken frame chain", () => {
    const stack = new Stack();
    stack.push();
    stack.store.u32[12 >>> 2] = DATA_START + 4; // CURRENT_FRAME pointing into nothing
    assert.throws(() => stack.check(), HeapCorruptionError);
  });
});
