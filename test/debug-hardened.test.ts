/**
 * HardenedHeap over every general-purpose allocator: forged, interior and freed offsets and
 * smashed headers are refused with the error that names them, and the heap stays usable; random
 * sequences against the reference model show no false positives.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CorruptedHeaderError } from "../src/debug/errors.js";
import { HardenedHeap, headerChecksum, type HardenedHeapOptions } from "../src/debug/hardened-heap.js";
import { DoubleFreeError, HeapCorruptionError, InvalidFreeError } from "../src/errors.js";
import { GENERAL_PURPOSE_ALLOCATORS } from "./support/debug-inners.js";
import { expectError } from "./support/expect-error.js";
import { ReferenceModel, rng } from "./support/model.js";

interface BugCase {
  name: string;
  options?: HardenedHeapOptions;
  run(h: HardenedHeap): void;
}

const BUGS: BugCase[] = [
  {
    name: "invalid free: an interior offset, 8 bytes in, is refused and the block stays live",
    run(h) {
      const p = h.malloc(32);
      const e = expectError(() => h.free(p + 8), InvalidFreeError, { ptr: p + 8 });
      assert.match(e.message, new RegExp(`interior offset: 8 bytes into block ${p} \\(32 bytes\\)`));
      assert.equal(h.usableSize(p) >= 32, true);
      h.free(p);
      h.check();
      assert.equal(h.stats().liveBlocks, 0);
    },
  },
  {
    name: "invalid free: a forged offset in free memory",
    run(h) {
      const big = h.malloc(4000);
      const keep = h.malloc(16);
      h.free(big);
      expectError(() => h.free(big + 1024), InvalidFreeError, { ptr: big + 1024 });
      h.free(keep);
      h.check();
    },
  },
  {
    name: "invalid free: offsets that cannot head a block (unaligned, outside the store, not integers)",
    run(h) {
      const p = h.malloc(32);
      for (const bad of [p + 1, p + 4, 4, h.store.committedBytes + 8, 2 ** 40, -8, 8.5, Number.NaN]) {
        expectError(() => h.free(bad), InvalidFreeError, { ptr: bad });
      }
      h.check();
    },
  },
  {
    name: "underflow: one byte before the start smashes the header; free refuses, and succeeds once repaired",
    run(h) {
      const p = h.malloc(24);
      const u8 = h.store.u8;
      const saved = u8[p - 1]!;
      u8[p - 1] = saved ^ 0x10;
      expectError(() => h.free(p), CorruptedHeaderError, { ptr: p, offset: p - 8, operation: "free" });
      expectError(() => h.check(), CorruptedHeaderError, { operation: "check" });
      expectError(() => h.realloc(p, 48), CorruptedHeaderError, { ptr: p, operation: "realloc" });
      expectError(() => h.usableSize(p), CorruptedHeaderError, { ptr: p, operation: "usableSize" });
      u8[p - 1] = saved;
      h.free(p);
      h.check();
    },
  },
  {
    name: "overflow of the block before: its size word overwritten, the checksum catches it",
    run(h) {
      const p = h.malloc(24);
      const u32 = h.store.u32;
      u32[(p - 8) >>> 2] = 0x7fff;
      const e = expectError(() => h.free(p), CorruptedHeaderError, { ptr: p, operation: "free" });
      assert.ok(e instanceof HeapCorruptionError);
      assert.deepEqual(e.header[0], 0x7fff);
    },
  },
  {
    name: "a valid header copied to another block does not validate there",
    run(h) {
      const p = h.malloc(24);
      const q = h.malloc(24);
      const u32 = h.store.u32;
      u32[(q - 8) >>> 2] = u32[(p - 8) >>> 2]!;
      u32[(q - 4) >>> 2] = u32[(p - 4) >>> 2]!;
      expectError(() => h.free(q), CorruptedHeaderError, { ptr: q });
      h.free(p);
    },
  },
  {
    name: "double free with delayed reuse: the FREED header names it; realloc and usableSize refuse too",
    options: { quarantineBytes: 1 << 16 },
    run(h) {
      const p = h.malloc(48);
      h.free(p);
      expectError(() => h.free(p), DoubleFreeError, { ptr: p });
      expectError(() => h.realloc(p, 8), InvalidFreeError, { ptr: p });
      expectError(() => h.usableSize(p), InvalidFreeError, { ptr: p });
      h.check();
      assert.equal(h.stats().quarantinedBlocks, 1);
      h.flushQuarantine();
      h.check();
    },
  },
  {
    name: "double free without delayed reuse: refused (the memory went back to the inner allocator)",
    run(h) {
      const p = h.malloc(48);
      h.malloc(48);
      h.free(p);
      const e = expectError(() => h.free(p), (errorClassOf(() => h.free(p))) as typeof InvalidFreeError, { ptr: p });
      assert.ok(e instanceof InvalidFreeError);
      h.check();
      assert.equal(h.stats().liveBlocks, 1);
    },
  },
  {
    name: "double free after the block was reused by a larger block: refused, the new block intact",
    run(h) {
      const before = h.malloc(600);
      const p = h.malloc(600);
      h.malloc(600);
      h.free(p);
      h.free(before);
      const q = h.malloc(1100);
      h.store.u8.fill(0x5a, q, q + 1100);
      if (q < p && p < q + 1100) {
        expectError(() => h.free(p), InvalidFreeError, { ptr: p });
      } else {
        assert.throws(() => h.free(p), InvalidFreeError);
      }
      assert.ok(h.store.u8.subarray(q, q + 1100).every((b) => b === 0x5a));
      h.free(q);
      h.check();
    },
  },
  {
    name: "write after free into a header waiting for reuse: caught when it leaves",
    options: { quarantineBytes: 64 },
    run(h) {
      const p = h.malloc(32);
      h.free(p);
      h.store.u32[(p - 8) >>> 2] = 0;
      const q = h.malloc(100);
      expectError(() => h.free(q), CorruptedHeaderError, { ptr: p, operation: "reuse" });
      h.check();
    },
  },
  {
    name: "over-aligned blocks keep their alignment through realloc, and their headers check",
    run(h) {
      const p = h.malloc(100, 64);
      assert.equal(p % 64, 0);
      h.store.u8.fill(7, p, p + 100);
      const q = h.realloc(p, 3000);
      assert.equal(q % 64, 0);
      assert.ok(h.store.u8.subarray(q, q + 100).every((b) => b === 7));
      h.check();
      expectError(() => h.free(q + 64), InvalidFreeError);
      h.free(q);
      h.check();
    },
  },
];

/** The class `fn` throws (for cases where either InvalidFreeError or its DoubleFreeError subclass is right). */
function errorClassOf(fn: () => unknown): new (...args: never[]) => Error {
  try {
    fn();
  } catch (error) {
    return (error as Error).constructor as new (...args: never[]) => Error;
  }
  assert.fail("nothing was thrown");
}

for (const inner of GENERAL_PURPOSE_ALLOCATORS) {
  describe(`HardenedHeap over ${inner.name}: injected bugs`, () => {
    for (const bug of BUGS) test(bug.name, () => bug.run(new HardenedHeap(inner.create(), bug.options)));
  });

  describe(`HardenedHeap over ${inner.name}: random sequences against the reference model`, () => {
    for (const [seed, options] of [[1, {}], [2, { quarantineBytes: 8192 }]] as const) {
      test(`seed ${seed}, ${JSON.stringify(options)}: no false positives`, () => {
        const h = new HardenedHeap(inner.create(), options);
        const model = new ReferenceModel(h);
        const random = rng(seed);
        for (let step = 1; step <= 3000; step++) {
          const r = random();
          const victim = model.pick(random());
          if (r < 0.5 || victim === undefined) {
            const size = random() < 0.1 ? Math.floor(random() * 4000) : Math.floor(random() * 600);
            const align = random() < 0.1 ? 2 ** (3 + Math.floor(random() * 4)) : 8;
            assert.notEqual(model.malloc(size, align), 0);
          } else if (r < 0.6) {
            assert.notEqual(model.realloc(victim, Math.floor(random() * 800)), 0);
          } else {
            model.free(victim);
          }
          if (step % 100 === 0) {
            model.checkLaws();
            assert.equal(h.stats().liveBytes, model.liveBytes());
          }
        }
        h.flushQuarantine();
        model.verifyAll();
      });
    }
  });
}

describe("HardenedHeap: the header", () => {
  test("the checksum is keyed: the same block under two secrets gets different headers", () => {
    const a = new HardenedHeap(GENERAL_PURPOSE_ALLOCATORS[0]!.create(), { secret: 1 });
    const b = new HardenedHeap(GENERAL_PURPOSE_ALLOCATORS[0]!.create(), { secret: 2 });
    const pa = a.malloc(40);
    const pb = b.malloc(40);
    assert.equal(pa, pb);
    assert.equal(a.store.u32[(pa - 8) >>> 2], 40);
    assert.notEqual(a.store.u32[(pa - 4) >>> 2], b.store.u32[(pb - 4) >>> 2]);
    assert.equal(a.store.u32[(pa - 4) >>> 2]! >>> 8, headerChecksum(1, pa, 40, a.store.u32[(pa - 4) >>> 2]! & 0xff));
  });

  test("stats are the user's view: requested bytes, and the header cost apart", () => {
    const h = new HardenedHeap(GENERAL_PURPOSE_ALLOCATORS[0]!.create());
    const p10 = h.malloc(10);
    const p100 = h.malloc(100, 64);
    const s = h.stats();
    assert.equal(s.liveBlocks, 2);
    assert.equal(s.liveBytes, 110);
    assert.equal(s.headerBytes, 8 + 64);
    const used = [...h.walk()].filter((b) => b.kind === "used").map((b) => b.ptr);
    assert.deepEqual(used.sort((x, y) => x! - y!), [p10, p100].sort((x, y) => x - y));
  });
});

describe("HardenedHeap: views", () => {
  test("are the store's, as on Heap: a block written through h.u32 keeps its contents", () => {
    const h = new HardenedHeap();
    const p = h.malloc(8);
    assert.equal(h.u32, h.store.u32);
    assert.equal(h.i32, h.store.i32);
    h.u32[p >>> 2] = 0xdeadbeef;
    assert.equal(h.store.u32[p >>> 2], 0xdeadbeef);
    h.free(p);
    h.check();
  });
});
