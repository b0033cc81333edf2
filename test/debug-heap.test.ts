/**
 * DebugHeap over every general-purpose allocator: a table of injected bugs, each at its edge,
 * with the exact error class and fields expected; then leak reports, and random sequences
 * against the reference model with check() along the way (no false positives).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Allocator } from "../src/allocator.js";
import { type BlockDescription, DebugHeap, FREED_POISON, LEFT_CANARY, RIGHT_CANARY, type DebugHeapOptions } from "../src/debug/debug-heap.js";
import { BufferOverflowError, DebugDoubleFreeError, DebugInvalidFreeError, UseAfterFreeError } from "../src/debug/errors.js";
import { STACKS_OFF_HINT } from "../src/debug/sites.js";
import { DoubleFreeError, HeapCorruptionError, InvalidFreeError } from "../src/errors.js";
import { GENERAL_PURPOSE_ALLOCATORS } from "./support/debug-inners.js";
import { expectError } from "./support/expect-error.js";
import { ReferenceModel, rng } from "./support/model.js";
import { Heap } from "../src/heap/heap.js";

interface BugCase {
  name: string;
  options?: DebugHeapOptions;
  run(d: DebugHeap): void;
}

const malloc1 = { operation: "malloc", seq: 1 };

const BUGS: BugCase[] = [
  {
    name: "overflow: the first byte past the end, caught by free (which refuses)",
    run(d) {
      const p = d.malloc(24);
      d.store.u8[p + 24] = 0x41;
      expectError(() => d.free(p), BufferOverflowError, {
        ptr: p, size: 24, offset: p + 24, delta: 24, side: "overflow", found: 0x41, expected: RIGHT_CANARY,
        foundBytes: [0x41], allocSite: malloc1,
      });
      assert.equal(d.usableSize(p), 24, "the refused free left the block live");
      d.store.u8[p + 24] = RIGHT_CANARY;
      d.free(p);
      d.check();
    },
  },
  {
    name: "overflow: an odd-sized block written one byte into its slack, caught by check()",
    run(d) {
      const p = d.malloc(13);
      d.store.u8[p + 13] = 0;
      expectError(() => d.check(), BufferOverflowError, { ptr: p, size: 13, offset: p + 13, delta: 13, side: "overflow", found: 0, foundBytes: [0] });
    },
  },
  {
    name: "overflow: 8 bytes written past the end, the run of bad bytes reported",
    run(d) {
      d.malloc(100);
      const p = d.malloc(20);
      d.store.u8.fill(0x41, p + 16, p + 28);
      expectError(() => d.free(p), BufferOverflowError, {
        ptr: p, offset: p + 20, delta: 20, found: 0x41, foundBytes: [0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41],
        allocSite: { operation: "malloc", seq: 2 },
      });
    },
  },
  {
    name: "underflow: one byte before the start, caught by free",
    run(d) {
      const p = d.malloc(24);
      d.store.u8[p - 1] = 0;
      expectError(() => d.free(p), BufferOverflowError, {
        ptr: p, size: 24, offset: p - 1, delta: -1, side: "underflow", found: 0, expected: LEFT_CANARY, foundBytes: [0],
      });
    },
  },
  {
    name: "underflow: caught by realloc, which refuses and leaves the block as it was",
    run(d) {
      const p = d.malloc(40);
      d.store.u8[p - 3] = 7;
      expectError(() => d.realloc(p, 80), BufferOverflowError, { ptr: p, offset: p - 3, delta: -3, side: "underflow", found: 7 });
      assert.equal(d.usableSize(p), 40);
      assert.equal(d.stats().liveBlocks, 1);
    },
  },
  {
    name: "use after free: a write into a freed block, caught by check()",
    run(d) {
      const p = d.malloc(40);
      d.free(p);
      d.store.u8[p + 5] = 0x55;
      expectError(() => d.check(), UseAfterFreeError, {
        ptr: p, size: 40, offset: p + 5, delta: 5, access: "write", found: 0x55, expected: FREED_POISON,
        foundBytes: [0x55], detectedBy: "check", allocSite: malloc1, freeSite: { operation: "free", seq: 2 },
      });
    },
  },
  {
    name: "use after free: a write into the first byte of a freed block, caught when it leaves quarantine",
    options: { quarantineBytes: 1024 },
    run(d) {
      const p = d.malloc(40);
      d.free(p);
      d.store.u8[p] = 0;
      const q = d.malloc(2000);
      expectError(() => d.free(q), UseAfterFreeError, {
        ptr: p, offset: p, delta: 0, found: 0, detectedBy: "quarantine", allocSite: malloc1, freeSite: { operation: "free", seq: 2 },
      });
      // The free of q completed, the corrupted block went back to the inner allocator: all consistent.
      d.check();
      assert.equal(d.stats().liveBlocks, 0);
    },
  },
  {
    name: "use after free: a write through a stale pointer after realloc moved the block",
    run(d) {
      const p = d.malloc(16);
      const q = d.realloc(p, 32);
      assert.notEqual(q, p, "the debug realloc always moves");
      d.store.u8[p + 15] = 1;
      expectError(() => d.check(), UseAfterFreeError, { ptr: p, delta: 15, allocSite: malloc1, freeSite: { operation: "realloc", seq: 2 } });
    },
  },
  {
    name: "use after free: realloc of a freed block",
    run(d) {
      const p = d.malloc(16);
      d.free(p);
      expectError(() => d.realloc(p, 64), UseAfterFreeError, { ptr: p, offset: p, access: "realloc", detectedBy: "call", freeSite: { seq: 2 } });
    },
  },
  {
    name: "use after free: usableSize of a freed block",
    run(d) {
      const p = d.malloc(16);
      d.free(p);
      expectError(() => d.usableSize(p), UseAfterFreeError, { ptr: p, access: "usableSize" });
    },
  },
  {
    name: "invalid free: an interior offset, 8 bytes in (refused, the block stays live)",
    run(d) {
      const p = d.malloc(32);
      const e = expectError(() => d.free(p + 8), DebugInvalidFreeError, {
        ptr: p + 8, operation: "free", place: "interior", delta: 8, block: { ptr: p, size: 32, allocSite: malloc1 },
      });
      assert.ok(e instanceof InvalidFreeError);
      d.free(p);
      d.check();
    },
  },
  {
    name: "invalid free: one byte before the start (in the left red zone)",
    run(d) {
      const p = d.malloc(32);
      expectError(() => d.free(p - 1), DebugInvalidFreeError, { ptr: p - 1, place: "left-red-zone", delta: -1, block: { ptr: p } });
    },
  },
  {
    name: "invalid free: the first byte past the end (in the right red zone)",
    run(d) {
      const p = d.malloc(32);
      expectError(() => d.free(p + 32), DebugInvalidFreeError, { ptr: p + 32, place: "right-red-zone", delta: 32, block: { ptr: p } });
    },
  },
  {
    name: "invalid free: an offset inside a quarantined block",
    run(d) {
      const p = d.malloc(32);
      d.free(p);
      expectError(() => d.free(p + 16), DebugInvalidFreeError, { ptr: p + 16, place: "freed-block", delta: 16, block: { ptr: p, freeSite: { seq: 2 } } });
    },
  },
  {
    name: "invalid free: forged offsets and non-integers",
    run(d) {
      d.malloc(32);
      for (const bad of [8, d.store.committedBytes + 64, -8, 1.5, Number.NaN]) {
        expectError(() => d.free(bad), DebugInvalidFreeError, { place: "unknown", block: undefined });
      }
      d.check();
    },
  },
  {
    name: "double free: the block still in quarantine, with both stories",
    run(d) {
      const p = d.malloc(48);
      d.free(p);
      const e = expectError(() => d.free(p), DebugDoubleFreeError, {
        ptr: p, block: { ptr: p, size: 48 }, allocSite: malloc1, freeSite: { operation: "free", seq: 2 }, reusedBy: undefined,
      });
      assert.ok(e instanceof DoubleFreeError && e instanceof InvalidFreeError);
      assert.equal(e.name, "DoubleFreeError");
      assert.match(e.message, /double free/);
      d.check();
    },
  },
  {
    name: "double free: after the block's memory was reused by another block",
    options: { quarantineBytes: 0 },
    run(d) {
      // Blocks above 4080 bytes: the Heap keeps smaller ones in slabs, apart from its TLSF blocks.
      const before = d.malloc(4500);
      const p = d.malloc(4500);
      d.malloc(4500);
      d.free(p);
      d.free(before); // the two spans coalesce in most allocators: a bigger block will cover p
      const { owner, story } = reuseMemoryOf(d, p);
      const e = expectError(() => d.free(p), DebugDoubleFreeError, {
        ptr: p, allocSite: story.allocSite, freeSite: story.freeSite, reusedBy: { ptr: owner },

      });
      assert.match(e.message, /its memory was reused: it now lies in block/);
      d.free(owner);
      d.check();
    },
  },
];

/**
 * Allocates blocks (sizes and alignments from a fixed seed) until the memory of the released
 * block at `p` is part of another live block; returns that block and the story of `p`. A block
 * that lands exactly on `p` makes a free of `p` legal again, so it is freed at once (and the
 * story of `p` is then that block's).
 */
function reuseMemoryOf(d: DebugHeap, p: number): { owner: number; story: BlockDescription } {
  let story = d.describe(p)!;
  assert.equal(story.state, "released");
  const random = rng(7);
  for (let i = 0; i < 2000; i++) {
    const q = i === 0 ? d.malloc(5000) : d.malloc(16 + Math.floor(random() * 6000), 2 ** Math.floor(random() * 6));
    if (q === p) {
      d.free(q);
      story = d.describe(p)!;
      continue;
    }
    const found = d.describe(p);
    if (found?.state === "live") return { owner: found.ptr, story };
  }
  assert.fail(`the memory of block ${p} was never reused`);
}

const inners = GENERAL_PURPOSE_ALLOCATORS;

for (const inner of inners) {
  describe(`DebugHeap over ${inner.name}: injected bugs`, () => {
    for (const bug of BUGS) {
      test(bug.name, () => bug.run(new DebugHeap(inner.create(), bug.options)));
    }
  });
}

describe("DebugHeap: sites", () => {
  const create = inners[0]!.create;

  test("with stacks off, errors say how to turn them on", () => {
    const d = new DebugHeap(create());
    const p = d.malloc(8);
    d.free(p);
    const e = expectError(() => d.free(p), DebugDoubleFreeError);
    assert.equal(e.allocSite.stack, undefined);
    assert.ok(e.message.includes(STACKS_OFF_HINT), e.message);
    assert.match(e.message, /allocated by malloc \(operation #1\)/);
    assert.match(e.message, /freed by free \(operation #2\)/);
  });

  test("with captureStacks, both stories carry the caller's stack", () => {
    const d = new DebugHeap(create(), { captureStacks: true });
    const p = allocateHere(d);
    freeHere(d, p);
    const e = expectError(() => d.free(p), DebugDoubleFreeError);
    assert.match(e.allocSite.stack!, /allocateHere/);
    assert.match(e.freeSite.stack!, /freeHere/);
    assert.doesNotMatch(e.allocSite.stack!, /DebugHeap\.malloc/, "the heap's own frames are left out");
    assert.match(e.message, /allocateHere[\s\S]*freeHere/);
  });

  test("captureStacks can be turned on midway", () => {
    const d = new DebugHeap(create());
    const before = d.malloc(8);
    d.captureStacks = true;
    const after = d.malloc(8);
    d.store.u8[before + 8] = 0;
    d.store.u8[after + 8] = 0;
    assert.equal(expectError(() => d.free(before), BufferOverflowError).allocSite.stack, undefined);
    assert.ok(expectError(() => d.free(after), BufferOverflowError).allocSite.stack!.length > 0);
  });

  test("withSite labels blocks; the label shows in errors", () => {
    const d = new DebugHeap(create());
    const p = d.withSite("parser", () => d.malloc(8));
    d.store.u8[p - 1] = 0;
    const e = expectError(() => d.check(), BufferOverflowError, { allocSite: { tag: "parser" } });
    assert.match(e.message, /\[site "parser"\]/);
  });
});

function allocateHere(d: DebugHeap): number {
  return d.malloc(64);
}

function freeHere(d: DebugHeap, p: number): void {
  d.free(p);
}

describe("DebugHeap: leak reports", () => {
  const create = inners[0]!.create;

  test("leaks() groups live blocks by allocation site, largest first, as text and JSON", () => {
    const d = new DebugHeap(create(), { captureStacks: true });
    const small: number[] = [];
    for (let i = 0; i < 3; i++) small.push(leakSmall(d));
    const big = leakBig(d);
    d.free(small[0]!);
    const report = d.leaks();
    assert.equal(report.blocks, 3);
    assert.equal(report.bytes, 2 * 10 + 500);
    assert.equal(report.sites.length, 2);
    assert.deepEqual(report.sites.map((s) => [s.count, s.bytes]), [[1, 500], [2, 20]]);
    assert.match(report.sites[0]!.stack!, /leakBig/);
    assert.match(report.sites[1]!.stack!, /leakSmall/);
    assert.deepEqual(report.sites[0]!.blocks, [{ offset: big, size: 500, seq: 4 }]);
    const text = report.toText();
    assert.match(text, /^520 bytes in 3 blocks live, from 2 sites \(largest first\):/);
    assert.match(text, /500 bytes in 1 block allocated from:\n\s+at leakBig/);
    assert.match(text, /20 bytes in 2 blocks allocated from:\n\s+at leakSmall/);
    const json = JSON.parse(JSON.stringify(report));
    assert.equal(json.bytes, 520);
    assert.equal(json.sites[1].count, 2);
  });

  test("without stacks, withSite tags group the blocks; untagged ones form one group with a hint", () => {
    const d = new DebugHeap(create());
    d.withSite("cache", () => { d.malloc(100); d.malloc(100); });
    d.withSite("request", () => d.malloc(50));
    d.malloc(1);
    const report = d.leaks();
    assert.deepEqual(report.sites.map((s) => [s.tag, s.count, s.bytes]), [["cache", 2, 200], ["request", 1, 50], [undefined, 1, 1]]);
    const text = report.toText();
    assert.match(text, /\n1 bytes in 1 block allocated at unrecorded sites\n/);
    assert.ok(text.endsWith(`(${STACKS_OFF_HINT}; or label work with heap.withSite(tag, fn) to group by what it was doing)`), text);
  });

  test("snapshot() and leaksSince(): what a request left behind", () => {
    const d = new DebugHeap(create());
    const old = d.malloc(64);
    const resized = d.malloc(64);
    const mark = d.snapshot();
    assert.deepEqual({ ...mark }, { seq: 2, liveBlocks: 2, liveBytes: 128 });
    d.withSite("request", () => {
      const temp = d.malloc(30);
      const kept = d.malloc(40);
      d.free(temp);
      d.realloc(resized, 128); // an old block only resized: not a leak of the request
      d.free(old);
      return kept;
    });
    const report = d.leaksSince(mark);
    assert.equal(report.blocks, 1);
    assert.equal(report.bytes, 40);
    assert.equal(report.sites[0]!.tag, "request");
    assert.match(report.toText(), /^40 bytes in 1 block allocated since operation #2 and still live/);
    assert.equal(JSON.parse(JSON.stringify(report)).sinceSeq, 2);
    assert.equal(d.leaksSince(d.snapshot()).toText(), "no blocks allocated since operation #7 and still live");
  });
});

function leakSmall(d: DebugHeap): number {
  return d.malloc(10);
}

function leakBig(d: DebugHeap): number {
  return d.malloc(500);
}

for (const inner of inners) {
  describe(`DebugHeap over ${inner.name}: random sequences against the reference model`, () => {
    for (const [seed, options] of [[1, { quarantineBytes: 4096 }], [2, {}], [3, { quarantineBytes: 0, redZoneBytes: 8 }]] as const) {
      test(`seed ${seed}, ${JSON.stringify(options)}: no false positives, stats in the user's view`, () => {
        const d = new DebugHeap(inner.create(), options);
        randomRun(d, seed, 3000);
        d.flushQuarantine();
        d.check();
      });
    }
  });
}

/** malloc/realloc/free at random (sizes 0..600, some aligned), checking everything every 100 ops. */
function randomRun(allocator: Allocator, seed: number, steps: number): void {
  const model = new ReferenceModel(allocator);
  const random = rng(seed);
  for (let step = 1; step <= steps; step++) {
    const r = random();
    const victim = model.pick(random());
    if (r < 0.5 || victim === undefined) {
      const size = random() < 0.1 ? Math.floor(random() * 4000) : Math.floor(random() * 600);
      const align = random() < 0.1 ? 2 ** (3 + Math.floor(random() * 4)) : 8;
      assert.notEqual(model.malloc(size, align), 0, "out of memory");
    } else if (r < 0.6) {
      assert.notEqual(model.realloc(victim, Math.floor(random() * 800)), 0, "out of memory");
    } else {
      model.free(victim);
    }
    if (step % 100 === 0) {
      model.checkLaws();
      const stats = allocator.stats();
      assert.equal(stats.liveBytes, model.liveBytes());
    }
  }
  model.verifyAll();
}

test("check() also runs the inner allocator's check", () => {
  let checked = 0;
  const inner = inners[0]!.create();
  const spy = Object.create(inner) as Allocator;
  spy.check = () => {
    checked++;
    inner.check();
  };
  const d = new DebugHeap(spy);
  d.malloc(10);
  d.check();
  assert.equal(checked, 1);
  assert.ok(HeapCorruptionError.prototype.isPrototypeOf(BufferOverflowError.prototype));
});

describe("DebugHeap: the user's view and the stores", () => {
  test("walk() reports live blocks at their user offsets between red zones, quarantined ones as held free spans; stats count requested bytes", () => {
    const d = new DebugHeap(inners[0]!.create());
    const a = d.malloc(10);
    const b = d.malloc(300);
    const c = d.malloc(5000);
    d.free(b);
    const spans = [...d.walk()];
    const used = spans.filter((x) => x.kind === "used").map((x) => [x.start, x.ptr, x.bytes, x.requestedBytes]).sort((x, y) => x[0]! - y[0]!);
    assert.deepEqual(used, [[a, a, 10, 10], [c, c, 5000, 5000]].sort((x, y) => x[0]! - y[0]!));
    assert.equal(spans.filter((x) => x.kind === "free" && x.held === "quarantine" && x.bytes >= 300).length, 1);
    assert.ok(spans.some((x) => x.kind === "meta" && x.start + x.bytes === a && x.detail?.includes("red zone")));
    const s = d.stats();
    assert.equal(s.liveBlocks, 2);
    assert.equal(s.liveBytes, 5010);
    assert.equal(s.peakLiveBytes, 5310);
    assert.equal(s.quarantinedBlocks, 1);
    assert.ok(s.quarantinedBytes >= 300 + 32);
    assert.ok(s.redZoneBytes >= 4 * 16);
    assert.equal(s.mallocCount, 3);
    assert.equal(s.freeCount, 1);
    assert.equal(d.usableSize(a), 10);
  });

  for (const kind of ["array-buffer", "resizable", "shared", "wasm"] as const) {
    test(`${kind} store: growth refreshes the views the checks read`, () => {
      const inner = new Heap({ kind, initialBytes: kind === "array-buffer" ? 4 << 20 : 1 << 16, maxBytes: 64 << 20 });
      const d = new DebugHeap(inner, { quarantineBytes: 2048 });
      const before = d.store.committedBytes;
      randomRun(d, 11, 1500);
      if (kind !== "array-buffer") assert.ok(d.store.committedBytes > before, "the store grew");
      d.flushQuarantine();
      d.check();
    });
  }

  test("the views are the store's, as on Heap: a write through d.u8 past the end is caught", () => {
    const d = new DebugHeap();
    const p = d.malloc(16);
    assert.equal(d.u8, d.store.u8);
    assert.equal(d.f64, d.store.f64);
    d.f64[p / 8] = 2.5;
    assert.equal(d.store.f64[p / 8], 2.5);
    d.u8[p + 16] = 1;
    assert.throws(() => d.free(p), BufferOverflowError);
  });
});
