/**
 * The checking wrappers under failure: an inner allocator that throws at its k-th malloc, free or
 * realloc, for every k of a seeded script, must leave the store's bytes and stats() exactly as
 * before the call that threw (and check() passing); an inner size limit is reported with the size
 * the caller asked; both constructor forms; large freed blocks are checked; leak reports print.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Allocator } from "../src/allocator.js";
import { Pool } from "../src/allocators/pool.js";
import { DebugHeap, FREED_POISON } from "../src/debug/debug-heap.js";
import { UseAfterFreeError } from "../src/debug/errors.js";
import { HardenedHeap } from "../src/debug/hardened-heap.js";
import { InvalidArgumentError, InvalidSizeError } from "../src/errors.js";
import { Heap } from "../src/heap/heap.js";
import { expectError } from "./support/expect-error.js";
import { rng } from "./support/model.js";

class StubError extends Error {}

/** A real Heap whose k-th mutating call (malloc, free, realloc) throws before it does anything. */
function throwingHeap(k: number): { inner: Allocator; calls: () => number } {
  const heap = new Heap({ maxBytes: 2 ** 24 }); // hundreds of heaps: a small reservation each (each reserved store costs a GC)
  let calls = 0;
  const mutating = new Set(["malloc", "free", "realloc"]);
  const inner = new Proxy(heap, {
    get(target, key) {
      const value = Reflect.get(target, key, target) as unknown;
      if (typeof value !== "function") return value;
      if (!mutating.has(key as string)) return value.bind(target);
      return (...args: unknown[]) => {
        if (++calls === k) throw new StubError(`inner call ${k} fails`);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { inner, calls: () => calls };
}

type Op = (a: Allocator, live: number[]) => void;

/** A seeded script of mallocs (some over-aligned, some large), reallocs and frees. */
function script(seed: number, length: number): Op[] {
  const r = rng(seed);
  const ops: Op[] = [];
  for (let i = 0; i < length; i++) {
    const size = r() < 0.1 ? 5000 + Math.floor(r() * 70000) : 1 + Math.floor(r() * 600);
    const pick = r();
    const which = r();
    const align = r() < 0.2 ? 64 : 8;
    if (pick < 0.45) {
      ops.push((a, live) => { const p = a.malloc(size, align); if (p !== 0) live.push(p); });
    } else if (pick < 0.7) {
      ops.push((a, live) => {
        if (live.length === 0) return;
        const i = Math.floor(which * live.length);
        const p = a.realloc(live[i]!, size);
        if (p !== 0) live[i] = p;
      });
    } else {
      ops.push((a, live) => {
        if (live.length === 0) return;
        const i = Math.floor(which * live.length);
        a.free(live[i]!);
        live.splice(i, 1);
      });
    }
  }
  return ops;
}

interface WrapperCase {
  name: string;
  wrap: (inner: Allocator) => Allocator;
}

const WRAPPERS: WrapperCase[] = [
  { name: "DebugHeap (default quarantine)", wrap: (inner) => new DebugHeap(inner) },
  { name: "DebugHeap (quarantine 0)", wrap: (inner) => new DebugHeap(inner, { quarantineBytes: 0 }) },
  { name: "DebugHeap (small quarantine)", wrap: (inner) => new DebugHeap({ inner, quarantineBytes: 4096 }) },
  { name: "HardenedHeap", wrap: (inner) => new HardenedHeap(inner, { secret: 7 }) },
  { name: "HardenedHeap (delayed reuse)", wrap: (inner) => new HardenedHeap({ inner, secret: 7, quarantineBytes: 4096 }) },
];

function image(a: Allocator): { bytes: Uint8Array; stats: string } {
  return { bytes: a.store.u8.slice(0, a.store.committedBytes), stats: JSON.stringify(a.stats()) };
}

describe("wrappers: a throw from the inner allocator at any call changes nothing", () => {
  const ops = script(17, 120);
  for (const w of WRAPPERS) {
    test(w.name, () => {
      const reference = throwingHeap(0);
      const a = w.wrap(reference.inner);
      const live: number[] = [];
      // Inner calls made by the end of each op: the k-th inner call is made by the first op whose
      // count reaches k (the run is the reference's until the stub throws), so the image to
      // compare is taken just before that op.
      const callsAfter = ops.map((op) => (op(a, live), reference.calls()));
      const total = reference.calls();
      assert.ok(total > ops.length / 2, `the script makes inner calls (${total})`);
      let throws = 0;
      for (let k = 1; k <= total; k++) {
        const stub = throwingHeap(k);
        const heap = w.wrap(stub.inner);
        const blocks: number[] = [];
        const throwing = callsAfter.findIndex((calls) => calls >= k);
        for (const [i, op] of ops.entries()) {
          const before = i === throwing ? image(heap) : undefined;
          const liveBefore = blocks.slice();
          try {
            op(heap, blocks);
          } catch (error) {
            if (!(error instanceof StubError)) throw error;
            throws++;
            const after = image(heap);
            assert.ok(before !== undefined);
            assert.equal(after.stats, before.stats, `k=${k}: stats() changed by a call that threw`);
            assert.ok(Buffer.from(after.bytes).equals(Buffer.from(before.bytes)), `k=${k}: the store's bytes changed by a call that threw`);
            blocks.splice(0, blocks.length, ...liveBefore);
            heap.check();
          }
        }
        heap.check();
        for (const p of blocks) heap.free(p);
        heap.check();
      }
      assert.ok(throws > total / 2, `most failing inner calls reach the caller (${throws} of ${total})`);
    });
  }
});

describe("wrappers: an inner size limit names the size the caller asked", () => {
  test("HardenedHeap over a Pool of 64-byte objects: realloc(p, 60) needs 68 with the header", () => {
    const h = new HardenedHeap(new Pool({ objectBytes: 64 }), { secret: 1 });
    const p = h.malloc(40);
    h.u8.fill(9, p, p + 40);
    const before = image(h);
    const e = expectError(() => h.realloc(p, 60), InvalidSizeError, { size: 60 });
    assert.match(e.message, /invalid size 60: with its 8-byte header the block needs 68 bytes/);
    expectError(() => h.malloc(60), InvalidSizeError, { size: 60 });
    assert.equal(JSON.stringify(h.stats()), before.stats);
    assert.ok(Buffer.from(h.u8).equals(Buffer.from(before.bytes)));
    h.check();
    h.free(p);
    h.check();
  });
});

describe("wrappers: both constructor forms", () => {
  for (const W of [DebugHeap, HardenedHeap]) {
    test(`${W.name}: (options), (inner, options), (), and a typed error for anything else`, () => {
      const byOptions = new W({ quarantineBytes: 0 });
      assert.equal(byOptions.inner.name, "heap");
      const p = byOptions.malloc(10);
      byOptions.free(p);
      byOptions.check();
      const inner = new Pool({ objectBytes: 128 });
      assert.equal(new W({ inner }).inner, inner);
      assert.equal(new W(inner, {}).inner, inner);
      assert.equal(new W().inner.name, "heap");
      for (const bad of [42, "heap", [], new Map(), { malloc: () => 0 }]) {
        expectError(() => new W(bad as never), InvalidArgumentError, { value: bad });
      }
      expectError(() => new W({ inner: {} as never }), InvalidArgumentError);
      expectError(() => new W(inner, { inner }), InvalidArgumentError);
    });
  }
});

describe("DebugHeap: a write after free into a block of any size", () => {
  for (const size of [300_000, 2_000_000]) {
    test(`a ${size}-byte block (over the 256 KiB quarantine) is checked, at its head and its tail`, () => {
      for (const at of [0, size - 1]) {
        const d = new DebugHeap(new Heap({ initialBytes: 1 << 20, maxBytes: 64 << 20 }));
        const p = d.malloc(size);
        d.free(p);
        assert.equal(d.stats().quarantinedBlocks, 1, "the newest block waits, however big");
        assert.equal(d.store.u8[p + at], FREED_POISON);
        d.store.u8[p + at] = 1;
        expectError(() => d.check(), UseAfterFreeError, { offset: p + at });
        const q = d.malloc(8);
        expectError(() => d.free(q), UseAfterFreeError, { offset: p + at, detectedBy: "quarantine" });
        d.check();
      }
    });
  }
  test("two freed blocks written after free: the first is thrown, every block is released", () => {
    const d = new DebugHeap({ quarantineBytes: 1 << 20 });
    const p = d.malloc(100);
    const q = d.malloc(100);
    d.free(p);
    d.free(q);
    d.store.u8[p] = 1;
    d.store.u8[q] = 1;
    expectError(() => d.flushQuarantine(), UseAfterFreeError, { offset: p });
    assert.equal(d.stats().quarantinedBlocks, 0);
    d.check();
  });
  test("the unpoisoned middle of a big block is documented as unseen", () => {
    const d = new DebugHeap({ maxFillBytes: 64 });
    const p = d.malloc(1000);
    d.free(p);
    d.store.u8[p + 500] = 1;
    d.check();
  });
});

describe("LeakReport: String() reads as the report", () => {
  test("toString is the LeakSanitizer-like text", () => {
    const d = new DebugHeap();
    d.withSite("parser", () => d.malloc(24));
    const report = d.leaks();
    assert.equal(String(report), report.toText());
    assert.match(`${report}`, /^24 bytes in 1 block live, from 1 site/);
    assert.match(String(report), /under site "parser"/);
  });
});
