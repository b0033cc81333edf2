import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DoubleFreeError, HeapCorruptionError, InvalidAlignmentError, InvalidFreeError, InvalidSizeError } from "../src/errors.js";
import { Ring, RING_DATA_START } from "../src/allocators/ring.js";
import { ReferenceModel, rng } from "./support/model.js";
import { STORE_KINDS } from "./support/kinds.js";

describe("Ring", () => {
  // Two seeds a kind, each kind its own: ten random sequences in all.
  for (const [k, kind] of STORE_KINDS.entries()) {
    for (const seed of [31 + 2 * k, 32 + 2 * k]) {
      it(`random pipeline traffic against the model on ${kind} (seed ${seed})`, () => {
        // Small stores so the ring fills, wraps and refuses; the growable kinds grow a little first.
        const ring = new Ring(kind === "array-buffer" ? { kind, initialBytes: 16384 } : { kind, initialBytes: 4096, maxBytes: kind === "wasm" ? 65536 : 32768 });
        const model = new ReferenceModel(ring);
        const random = rng(seed);
        const queue: number[] = []; // live blocks, oldest first
        let wraps = 0;
        let refused = 0;
        let wasWrapped = false;
        for (let step = 0; step < 4000; step++) {
          const r = random();
          const mallocShare = Math.floor(step / 1000) % 2 === 0 ? 0.6 : 0.35; // filling, then draining
          if (r < mallocShare) {
            const ptr = model.malloc(Math.floor(random() * (random() < 0.1 ? 6000 : 400)));
            if (ptr === 0) refused++;
            else queue.push(ptr);
          } else if (r < mallocShare + 0.3 && queue.length > 0) {
            model.free(queue.shift()!);
          } else if (r < mallocShare + 0.38 && queue.length > 0) {
            const i = Math.floor(random() * queue.length);
            model.free(queue.splice(i, 1)[0]!);
          } else if (queue.length > 0) {
            const i = Math.floor(random() * queue.length);
            const moved = model.realloc(queue[i]!, Math.floor(random() * 300));
            if (moved !== 0 && moved !== queue[i]) {
              queue.splice(i, 1);
              queue.push(moved);
            }
          }
          if (ring.wrapped && !wasWrapped) wraps++;
          wasWrapped = ring.wrapped;
          model.checkLaws();
        }
        assert.ok(wraps > 5, `the ring wrapped (${wraps} times)`);
        assert.ok(refused > 0, "the ring filled up at least once");
        while (queue.length > 0) model.free(queue.shift()!);
        model.verifyAll();
        const stats = ring.stats();
        assert.equal(stats.extentBytes, RING_DATA_START, "an empty ring rewinds");
        assert.equal(stats.mallocCount, stats.freeCount);
      });
    }
  }

  it("wraps around: space of the oldest blocks is reused once they are freed", () => {
    const ring = new Ring({ kind: "array-buffer", initialBytes: 4096 });
    const span = 1008; // 8-byte header + 1000 bytes
    const a = ring.malloc(1000);
    const b = ring.malloc(1000);
    const c = ring.malloc(1000);
    assert.deepEqual([a, b, c], [RING_DATA_START + 8, RING_DATA_START + 8 + span, RING_DATA_START + 8 + 2 * span]);
    assert.equal(ring.malloc(1000), 0, "full: 72 + 4 × 1008 > 4096");
    ring.free(a);
    const d = ring.malloc(1000);
    assert.equal(d, RING_DATA_START + 8, "wrapped to the start, where a was");
    assert.ok(ring.wrapped);
    assert.equal(ring.stats().extentBytes, RING_DATA_START + 3 * span, "extent: the wrap point");
    assert.equal(ring.malloc(8), 0, "TAIL has reached HEAD (b)");
    ring.check();
    ring.free(b);
    ring.free(c);
    assert.ok(!ring.wrapped, "HEAD passed the wrap point");
    assert.equal(ring.stats().extentBytes, RING_DATA_START + span);
    ring.free(d);
    assert.equal(ring.stats().extentBytes, RING_DATA_START, "empty: rewound");
    ring.check();
  });

  it("frees out of order, but reclaims only when the oldest goes", () => {
    const ring = new Ring({ kind: "array-buffer", initialBytes: 4096 });
    const a = ring.malloc(100);
    const b = ring.malloc(100);
    const c = ring.malloc(100);
    ring.free(b);
    ring.check();
    let stats = ring.stats();
    assert.equal(stats.liveBlocks, 2);
    assert.equal(stats.extentBytes, c + 104, "nothing reclaimed yet");
    assert.equal(stats.freeBytes, 112, "b's span is a hole");
    assert.throws(() => ring.free(b), DoubleFreeError, "b is freed, waiting");
    ring.free(a);
    stats = ring.stats();
    assert.equal(stats.freeBytes, 224, "a and b reclaimed: the gap before HEAD");
    assert.throws(() => ring.free(a), InvalidFreeError, "a is reclaimed: no longer in the ring");
    assert.equal(ring.usableSize(c), 104);
    ring.check();
  });

  it("reallocs the newest block in place and moves older ones", () => {
    const ring = new Ring({ kind: "array-buffer", initialBytes: 8192 });
    const a = ring.malloc(10);
    const b = ring.malloc(10);
    assert.equal(ring.realloc(a, 16), a, "fits its span");
    assert.equal(ring.realloc(b, 500), b, "the newest grows in place");
    assert.equal(ring.usableSize(b), 504);
    const moved = ring.realloc(a, 100);
    assert.ok(moved > b, "an older block moves to the tail");
    assert.equal(ring.stats().liveBlocks, 2);
    ring.check();
  });

  it("rejects bad input with typed errors and stays consistent", () => {
    const ring = new Ring({ kind: "array-buffer", initialBytes: 4096 });
    const a = ring.malloc(40);
    ring.malloc(40);
    const before = ring.stats();
    for (const size of [NaN, -1, 1.5, 2 ** 40]) {
      assert.throws(() => ring.malloc(size), InvalidSizeError);
      assert.throws(() => ring.realloc(a, size), InvalidSizeError);
    }
    assert.throws(() => ring.malloc(8, 16), InvalidAlignmentError);
    assert.throws(() => ring.malloc(8, 3), InvalidAlignmentError);
    for (const ptr of [0, -8, a + 8, a + 0.5, NaN, 99999, RING_DATA_START]) assert.throws(() => ring.free(ptr), InvalidFreeError, `free(${ptr})`);
    assert.equal(ring.malloc(4000), 0, "within the limit, but does not fit: 0");
    assert.throws(() => ring.malloc(5000), InvalidSizeError, "beyond the store's reservation");
    assert.deepEqual(ring.stats(), before);
    ring.check();
  });

  it("check() catches corruption", () => {
    const ring = new Ring();
    const a = ring.malloc(16);
    ring.malloc(16);
    ring.store.u32[(a - 8) >>> 2] = 64 | 1; // a's span now runs into the next block
    assert.throws(() => ring.check(), HeapCorruptionError);
  });
});
