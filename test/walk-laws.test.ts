/**
 * The walk contract (src/allocator.ts), checked for every policy in `policies` on every store kind
 * it accepts, for a Heap on a range of a buffer, and for the debug and hardened wrappers, after
 * seeded random work:
 *   the spans tile [baseOffset, >= baseOffset + extentBytes), ending within the committed bytes;
 *   every used span holds its ptr; the used spans are exactly the live blocks, with the sizes
 *   asked (so their count is liveBlocks and their requested bytes sum to liveBytes);
 *   held spans are free; a span with a group lies inside it;
 *   walk(start, end) is the slice of the full walk that overlaps [start, end);
 *   walkInto gives the same spans as walk, as numbers.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Allocator, HELD_STATES, type HeapSpan, SPAN_KINDS } from "../src/allocator.js";
import type { Arena } from "../src/allocators/arena.js";
import type { Stack } from "../src/allocators/stack.js";
import { DebugHeap } from "../src/debug/debug-heap.js";
import { HardenedHeap } from "../src/debug/hardened-heap.js";
import { InvalidRangeError } from "../src/errors.js";
import { Heap } from "../src/heap/heap.js";
import { ByteStore, type StoreKind } from "../src/memory/store.js";
import { type PolicyName, policies, policyNames } from "../src/policies.js";

/** mulberry32: a small seeded generator, so a failure replays. */
function random(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n);
  };
}

/** A request size suited to the policy (pool: one object size; fifo: within a page). */
function sizeFor(policy: PolicyName, r: (n: number) => number): number {
  switch (policy) {
    case "heap": return [r(65), 65 + r(192), 257 + r(3824), 4081 + r(60000), 262144 + r(40000)][Math.min(r(5), r(5))]!;
    case "pool": return r(65);
    case "fifo": case "ring": return r(2000);
    case "buddy": return r(3) === 0 ? r(20000) : r(300);
    default: return r(3) === 0 ? r(5000) : r(200);
  }
}

/** The policies whose malloc takes alignments above 8. */
const ALIGNS_ABOVE_8 = new Set<PolicyName>(["heap", "buddy", "first-fit", "next-fit", "best-fit"]);

/** Live blocks as the test made them: ptr -> size asked. */
type Live = Map<number, number>;

/** Random malloc/free/realloc for policies that free any block. */
function churn(a: Allocator, policy: PolicyName, live: Live, r: (n: number) => number, steps: number): void {
  for (let i = 0; i < steps; i++) {
    const op = r(10);
    const ptrs = [...live.keys()];
    if (op < 5 || ptrs.length === 0) {
      const size = sizeFor(policy, r);
      const p = a.malloc(size, !ALIGNS_ABOVE_8.has(policy) || r(4) !== 0 ? 8 : [16, 64, 256][r(3)]!);
      if (p !== 0) live.set(p, size);
    } else if (op < 8) {
      const p = ptrs[r(ptrs.length)]!;
      a.free(p);
      live.delete(p);
    } else {
      const p = ptrs[r(ptrs.length)]!;
      const size = sizeFor(policy, r);
      const q = a.realloc(p, size);
      if (q !== 0) {
        live.delete(p);
        live.set(q, size);
      }
    }
  }
}

/**
 * Random work for the bump policies: mallocs, frees and reallocs of the last block (above the
 * innermost mark or frame), marks and frames released innermost first.
 */
function bumpWork(a: Arena | Stack, live: Live, r: (n: number) => number, steps: number): void {
  const order: number[] = [];
  const marks: { at: number; handle: number }[] = [];
  for (let i = 0; i < steps; i++) {
    const op = r(12);
    const last = order.length > (marks.at(-1)?.at ?? 0) ? order.at(-1) : undefined;
    if (op < 6 || (last === undefined && op < 9)) {
      const size = r(500);
      const p = a.malloc(size, r(5) === 0 ? 64 : 8);
      if (p !== 0) {
        live.set(p, size);
        order.push(p);
      }
    } else if (op < 8) {
      a.free(last!);
      live.delete(order.pop()!);
    } else if (op < 9) {
      const size = r(500);
      const q = a.realloc(last!, size);
      if (q !== 0) {
        live.delete(order.pop()!);
        live.set(q, size);
        order.push(q);
      }
    } else if (op < 11) {
      marks.push({ at: order.length, handle: "push" in a ? a.push() : a.mark() });
    } else if (marks.length > 0) {
      const { at, handle } = marks.pop()!;
      if ("pop" in a) a.pop(handle);
      else a.release(handle);
      for (const p of order.splice(at)) live.delete(p);
    }
  }
}

/** A span as walkInto gives it: start, bytes, kind, ptr, requested, group start, held. */
function asNumbers(s: HeapSpan): number[] {
  return [s.start, s.bytes, SPAN_KINDS.indexOf(s.kind), s.ptr ?? 0, s.requestedBytes ?? 0, s.group?.start ?? -1, HELD_STATES.indexOf(s.held)];
}

function collectInto(a: Allocator, start?: number, end?: number): number[][] {
  const out: number[][] = [];
  const count = a.walkInto((...span) => out.push(span), start, end);
  assert.equal(count, out.length, "walkInto returns the number of spans it visited");
  return out;
}

function checkLaws(a: Allocator, live: Live, r: (n: number) => number, where: string): void {
  const spans = [...a.walk()];
  const s = a.stats();
  assert.ok(spans.length > 0, `${where}: no spans`);
  assert.equal(spans[0]!.start, s.baseOffset, `${where}: the first span starts at the base`);
  let end = s.baseOffset;
  const used = new Map<number, number>();
  for (const span of spans) {
    assert.equal(span.start, end, `${where}: gap or overlap at ${end}: ${JSON.stringify(span)}`);
    assert.ok(span.bytes > 0 && Number.isInteger(span.bytes), `${where}: span of ${span.bytes} bytes at ${span.start}`);
    end = span.start + span.bytes;
    if (span.kind === "used") {
      assert.ok(span.ptr! >= span.start && span.ptr! < end, `${where}: ptr ${span.ptr} outside its span ${span.start}+${span.bytes}`);
      used.set(span.ptr!, span.requestedBytes!);
    } else assert.equal(span.ptr, undefined, `${where}: a ${span.kind} span with a ptr`);
    if (span.held !== undefined) assert.equal(span.kind, "free", `${where}: held spans are free`);
    if (span.group !== undefined) {
      assert.ok(span.group.start <= span.start && end <= span.group.start + span.group.bytes, `${where}: span ${span.start} outside its group`);
    }
  }
  assert.ok(end >= s.baseOffset + s.extentBytes, `${where}: spans end at ${end}, before the extent ${s.extentBytes}`);
  assert.ok(end <= s.committedBytes, `${where}: spans end at ${end}, past the committed ${s.committedBytes}`);
  assert.deepEqual([...used].sort((x, y) => x[0] - y[0]), [...live].sort((x, y) => x[0] - y[0]), `${where}: used spans are the live blocks`);
  assert.equal(used.size, s.liveBlocks, `${where}: used spans = liveBlocks`);
  assert.equal([...used.values()].reduce((x, y) => x + y, 0), s.liveBytes, `${where}: requested bytes = liveBytes`);
  assert.deepEqual(collectInto(a), spans.map(asNumbers), `${where}: walkInto gives the spans of walk`);
  for (let i = 0; i < 6; i++) {
    const from = s.baseOffset + r(end + 64);
    const to = i === 0 ? Infinity : from + r(i % 2 === 0 ? 64 : 70000);
    const slice = spans.filter((x) => x.start < to && x.start + x.bytes > from);
    assert.deepEqual([...a.walk(from, to)], slice, `${where}: walk(${from}, ${to}) is the slice of the walk`);
    assert.deepEqual(collectInto(a, from, to), slice.map(asNumbers), `${where}: walkInto(${from}, ${to}) is the slice`);
  }
}

function storeOptions(kind: StoreKind) {
  return kind === "array-buffer" ? { kind, initialBytes: 4 << 20 } : { kind, initialBytes: 65536, maxBytes: 64 << 20 };
}

describe("walk laws: every policy on every store kind it accepts", () => {
  for (const name of policyNames) {
    for (const kind of policies[name].storeKinds) {
      test(`${name} on ${kind}`, () => {
        const r = random(0x5eed + name.length * 131 + kind.length);
        const a = policies[name].create(storeOptions(kind) as never) as Allocator;
        const live: Live = new Map();
        checkLaws(a, live, r, `${name}/${kind} fresh`);
        for (let round = 1; round <= 4; round++) {
          if (name === "arena" || name === "stack") bumpWork(a as Arena | Stack, live, r, 150);
          else churn(a, name, live, r, 150);
          a.check();
          checkLaws(a, live, r, `${name}/${kind} round ${round}`);
        }
      });
    }
  }
});

describe("walk laws: a heap on a range of a buffer (offsets relative to the range's base)", () => {
  const ranges: [string, () => ByteStore][] = [
    ["an ArrayBuffer, start not 8-aligned", () => ByteStore.wrap(new ArrayBuffer(6 << 20), { start: 12345, end: (5 << 20) + 3 })],
    ["a WebAssembly.Memory after module data", () => ByteStore.wrap(new WebAssembly.Memory({ initial: 2, maximum: 200 }), { start: 70000, end: 12 << 20 })],
  ];
  for (const [name, make] of ranges) {
    test(name, () => {
      const r = random(0x4a6e + name.length);
      const heap = new Heap({ store: make() });
      const live: Live = new Map();
      checkLaws(heap, live, r, `${name} fresh`);
      for (let round = 1; round <= 4; round++) {
        churn(heap, "heap", live, r, 150);
        heap.check();
        checkLaws(heap, live, r, `${name} round ${round}`);
      }
    });
  }
});

describe("walk laws: the wrappers", () => {
  const wrappers: [string, () => Allocator][] = [
    ["DebugHeap over the heap", () => new DebugHeap(new Heap(), { quarantineBytes: 20000 })],
    ["DebugHeap over first fit", () => new DebugHeap(policies["first-fit"].create(), { quarantineBytes: 20000 })],
    ["HardenedHeap over the heap, delayed reuse", () => new HardenedHeap(new Heap(), { quarantineBytes: 20000 })],
    ["HardenedHeap over buddy", () => new HardenedHeap(policies.buddy.create())],
  ];
  for (const [name, make] of wrappers) {
    test(name, () => {
      const r = random(0xd1e5 + name.length);
      const a = make();
      const live: Live = new Map();
      let held = 0;
      for (let round = 1; round <= 4; round++) {
        churn(a, "first-fit", live, r, 150);
        a.check();
        checkLaws(a, live, r, `${name} round ${round}`);
        held += [...a.walk()].filter((s) => s.held !== undefined).length;
      }
      if (!name.endsWith("buddy")) assert.ok(held > 0, "some freed blocks were seen held");
    });
  }
});

describe("walk ranges", () => {
  test("bad bounds are InvalidRangeError, naming the value", () => {
    const heap = new Heap();
    for (const [start, end] of [[NaN, undefined], [-1, undefined], [10, 5], [0, NaN]] as [number, number | undefined][]) {
      assert.throws(() => [...heap.walk(start, end)], InvalidRangeError);
      assert.throws(() => heap.walkInto(() => {}, start, end), InvalidRangeError);
    }
  });

  test("a heap's slab is a group of its slots, with the slot size", () => {
    const heap = new Heap();
    const p = heap.malloc(40);
    const slot = [...heap.walk(p, p + 1)];
    assert.equal(slot.length, 1);
    assert.deepEqual({ ...slot[0], group: undefined }, { start: p, bytes: 40, kind: "used", ptr: p, requestedBytes: 40, group: undefined });
    assert.equal(slot[0]!.group?.kind, "slab");
    assert.equal(slot[0]!.group?.sizeClassBytes, 40);
  });
});
