import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DebugHeap, Heap, FitAllocator } from "../src/index.js";
import { SimSession } from "../web/src/session.js";
import { FootprintSeries } from "../web/src/series.js";
import { OpClock, runBudgeted } from "../web/src/speed.js";
import { WORKLOAD_NAMES, makeWorkload } from "../web/src/workloads.js";

describe("lab simulator session", () => {
  it("runs every workload to the end with the allocator's own counts matching the ops", () => {
    for (const name of WORKLOAD_NAMES) {
      const session = new SimSession(() => new Heap({ maxBytes: 1 << 24 }), false);
      session.enqueue(makeWorkload(name, { count: 200, seed: 7, minBytes: 8, maxBytes: 2000 }, () => session.newHandle()));
      session.step(Infinity);
      assert.equal(session.pendingCount, 0, name);
      assert.ok(session.outcomes.every((outcome) => outcome.error === undefined), name);
      const stats = session.allocator.stats();
      assert.equal(stats.liveBlocks, session.liveHandleCount, name);
      const mallocs = session.ops.filter((op) => op.kind === "malloc").length;
      const frees = session.ops.filter((op) => op.kind === "free").length;
      assert.equal(stats.liveBlocks, mallocs - frees, name);
      session.allocator.check();
    }
  });

  it("undo lands on the heap a replay of the ops before it makes, byte for byte, and the op stays queued", () => {
    const session = new SimSession(() => new FitAllocator({ fit: "best", maxBytes: 1 << 20 }), false);
    session.enqueue(makeWorkload("random", { count: 120, seed: 3, minBytes: 1, maxBytes: 300 }, () => session.newHandle()));
    session.step(80);
    const reference = new SimSession(() => new FitAllocator({ fit: "best", maxBytes: 1 << 20 }), false);
    reference.enqueue(session.ops.slice(0, 79));
    reference.step(79);
    assert.equal(session.undo(), true);
    assert.equal(session.cursor, 79);
    assert.equal(session.pendingCount, 41);
    assert.deepEqual(session.allocator.stats(), reference.allocator.stats());
    assert.deepEqual(session.allocator.store.u8.slice(0, 4096), reference.allocator.store.u8.slice(0, 4096));
    assert.deepEqual(session.liveHandles(), reference.liveHandles());
  });

  it("a double free on the debug heap is an error at the op that made it, and the heap stays consistent", () => {
    const session = new SimSession(() => new DebugHeap(new Heap()), true);
    const handle = session.newHandle();
    assert.equal(session.run({ kind: "malloc", handle, size: 40 }).error, undefined);
    assert.equal(session.run({ kind: "free", handle }).error, undefined);
    const second = session.run({ kind: "free", handle });
    assert.match(second.error?.name ?? "", /DoubleFree/);
    assert.equal(session.allocator.stats().liveBlocks, 0);
    session.allocator.check();
  });

  it("an overflow and a write after free are caught by the check after the writing op, once", () => {
    const session = new SimSession(() => new DebugHeap(new Heap()), true);
    const a = session.newHandle();
    session.run({ kind: "malloc", handle: a, size: 24 });
    const usable = session.allocator.usableSize(session.ptrOf(a));
    const overflow = session.run({ kind: "write", handle: a, offset: usable, bytes: 2 });
    assert.equal(overflow.error?.name, "BufferOverflowError");
    const b = session.newHandle();
    assert.equal(session.run({ kind: "malloc", handle: b, size: 8 }).error, undefined, "the same damage is not reported again");

    const clean = new SimSession(() => new DebugHeap(new Heap()), true);
    const c = clean.newHandle();
    clean.run({ kind: "malloc", handle: c, size: 24 });
    clean.run({ kind: "free", handle: c });
    assert.equal(clean.run({ kind: "write", handle: c, offset: 0, bytes: 1 }).error?.name, "UseAfterFreeError");
  });

  it("out of memory is an outcome, not a crash", () => {
    const session = new SimSession(() => new Heap({ initialBytes: 65536, maxBytes: 65536 }), false);
    assert.notEqual(session.run({ kind: "malloc", handle: session.newHandle(), size: 40_000 }).ptr, 0);
    const outcome = session.run({ kind: "malloc", handle: session.newHandle(), size: 40_000 });
    assert.equal(outcome.ptr, 0);
    assert.match(outcome.error?.message ?? "", /out of memory/);
  });
});

describe("lab footprint series and playback clock", () => {
  it("keeps at most its capacity, halving evenly, and drops points after a step back", () => {
    const series = new FootprintSeries(8);
    for (let op = 0; op < 100; op++) {
      const kept = series.ops.length;
      const wanted = series.wants(op);
      series.add(op, op, 2 * op, 3 * op);
      assert.equal(wanted, series.ops.length !== kept || series.ops.at(-1) === op, `wants(${op}) says whether add keeps it`);
    }
    assert.ok(series.ops.length < 8);
    assert.ok(series.stride > 1);
    const gaps = series.ops.slice(1).map((op, i) => op - series.ops[i]!);
    assert.ok(gaps.every((gap) => gap === gaps[0]), `even gaps ${gaps}`);
    series.add(10, 1, 1, 1);
    assert.ok(series.ops.every((op) => op <= 10));
    assert.equal(series.ops.at(-1), 10);
  });

  it("turns time into whole ops, carrying fractions; full speed runs chunks until the budget", () => {
    const clock = new OpClock();
    let due = 0;
    for (let frame = 0; frame < 60; frame++) due += clock.opsThisFrame(1, 1000 / 60); // 4 ops/s for one second
    assert.equal(due, 4);
    let now = 0;
    let ran = 0;
    const total = runBudgeted(Infinity, (count) => ((now += 1), (ran += count), count), () => now, 5);
    assert.equal(total, ran);
    assert.ok(now >= 5);
    assert.equal(runBudgeted(Infinity, (count) => Math.min(count, 10), () => 0, 5), 10, "stops when the ops run out");
  });
});
