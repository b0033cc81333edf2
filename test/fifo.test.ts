import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DoubleFreeError, HeapCorruptionError, InvalidAlignmentError, InvalidFreeError, InvalidSizeError } from "../src/errors.js";
import { Fifo, FIFO_PAGES_START } from "../src/allocators/fifo.js";
import { ReferenceModel, rng } from "./support/model.js";
import { STORE_KINDS } from "./support/kinds.js";

describe("Fifo", () => {
  // Two seeds a kind, each kind its own: ten random sequences in all.
  for (const [k, kind] of STORE_KINDS.entries()) {
    for (const seed of [41 + 2 * k, 42 + 2 * k]) {
      it(`random frees in any order against the model on ${kind} (seed ${seed})`, () => {
        const fifo = new Fifo({ pageBytes: 1024, kind, initialBytes: kind === "array-buffer" ? 32768 : 4096 });
        const model = new ReferenceModel(fifo);
        const random = rng(seed);
        let bytesBumped = 0; // block spans placed: without page reuse the extent would cover them all
        for (let step = 0; step < 3000; step++) {
          const r = random();
          const mallocShare = Math.floor(step / 600) % 2 === 0 ? 0.6 : 0.3;
          if (r < mallocShare) {
            const size = Math.floor(random() * 200);
            if (model.malloc(size) !== 0) bytesBumped += 8 + Math.ceil(size / 8) * 8;
          } else if (r < mallocShare + 0.3 && model.live.size > 0) {
            model.free(model.pick(random())!);
          } else if (model.live.size > 0) {
            model.realloc(model.pick(random())!, Math.floor(random() * 300));
          }
          if (step % 1000 === 999) for (const ptr of [...model.live.keys()]) model.free(ptr); // every page empties
          model.checkLaws();
        }
        const pagesUsed = (fifo.stats().extentBytes - FIFO_PAGES_START) / 1024;
        assert.ok(pagesUsed < bytesBumped / (1024 - fifo.dataStart) / 2, `emptied pages were reused (${pagesUsed} pages for ${bytesBumped} bytes)`);
        for (const ptr of [...model.live.keys()]) model.free(ptr);
        model.verifyAll();
        const stats = fifo.stats();
        assert.equal(stats.mallocCount, stats.freeCount);
        assert.equal(stats.liveBytes, 0);
      });
    }
  }

  it("reuses pages in the order they emptied", () => {
    const fifo = new Fifo({ pageBytes: 512, kind: "resizable" });
    assert.equal(fifo.dataStart, 24);
    const page = (k: number) => FIFO_PAGES_START + k * 512;
    const pageOf = (ptr: number) => Math.floor((ptr - FIFO_PAGES_START) / 512);
    const blocks = Array.from({ length: 12 }, () => fifo.malloc(112)); // 4 blocks of span 120 per page
    assert.deepEqual(blocks.map(pageOf), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    const inPage3 = [fifo.malloc(112)];
    assert.equal(pageOf(inPage3[0]!), 3);
    for (const p of blocks.slice(4, 8).reverse()) fifo.free(p); // page 1 empties first
    fifo.check();
    for (const p of [blocks[2]!, blocks[0]!, blocks[3]!, blocks[1]!]) fifo.free(p); // then page 0
    fifo.check();
    for (let i = 0; i < 3; i++) inPage3.push(fifo.malloc(112));
    assert.deepEqual(inPage3.map(pageOf), [3, 3, 3, 3]);
    const next = Array.from({ length: 8 }, () => fifo.malloc(112));
    assert.deepEqual(next.map(pageOf), [1, 1, 1, 1, 0, 0, 0, 0], "page 1 emptied first, so it is reused first");
    assert.equal(next[0], page(1) + 24 + 8, "a reused page is filled from its start");
    assert.equal(fifo.stats().extentBytes, page(4), "no page added while emptied ones wait");
    assert.equal(pageOf(fifo.malloc(112)), 4, "queue empty: a new page");
    fifo.check();
  });

  it("does not reuse a freed block before its page empties", () => {
    const fifo = new Fifo({ pageBytes: 512 });
    const a = fifo.malloc(112);
    const b = fifo.malloc(112);
    fifo.free(a);
    const c = fifo.malloc(112);
    assert.ok(c > b, "bumped past the freed block");
    const stats = fifo.stats();
    assert.equal(stats.liveBlocks, 2);
    assert.equal(stats.freeBytes, 120 + (512 - 24 - 3 * 120), "a's span and the page's unused tail");
    assert.equal(stats.internalFragmentationBytes, 0);
    fifo.check();
  });

  it("detects double and invalid frees with typed errors and stays consistent", () => {
    const fifo = new Fifo({ pageBytes: 512 });
    const a = fifo.malloc(40);
    const b = fifo.malloc(40);
    fifo.free(a);
    assert.throws(() => fifo.free(a), DoubleFreeError);
    for (const ptr of [0, -8, b + 8, b + 4, b + 0.5, NaN, 10 ** 7, b + 48 + 8, FIFO_PAGES_START + 8]) {
      assert.throws(() => fifo.free(ptr), InvalidFreeError, `free(${ptr})`);
    }
    assert.equal(fifo.stats().liveBlocks, 1);
    fifo.check();
    fifo.free(b);
    fifo.check();
  });

  it("rejects bad sizes and alignments", () => {
    const fifo = new Fifo({ pageBytes: 512 });
    const a = fifo.malloc(8);
    for (const size of [NaN, -1, 1.5, 481, 2 ** 40]) {
      assert.throws(() => fifo.malloc(size), InvalidSizeError, `malloc(${size})`);
      assert.throws(() => fifo.realloc(a, size), InvalidSizeError);
    }
    assert.equal(fifo.maxBlockBytes, 480);
    assert.ok(fifo.malloc(480) > 0, "a block filling a page");
    for (const align of [16, 3, 0]) assert.throws(() => fifo.malloc(8, align), InvalidAlignmentError);
    assert.throws(() => new Fifo({ pageBytes: 1000 }), InvalidSizeError);
    fifo.check();
  });

  it("reallocs in place within the span or at the end of the current page, else moves", () => {
    const fifo = new Fifo({ pageBytes: 1024 });
    const a = fifo.malloc(10);
    const b = fifo.malloc(10);
    assert.equal(fifo.realloc(a, 16), a);
    assert.equal(fifo.realloc(b, 200), b, "the last block of the current page grows in place");
    assert.equal(fifo.usableSize(b), 200);
    const moved = fifo.realloc(a, 100);
    assert.ok(moved > b);
    assert.throws(() => fifo.free(a), DoubleFreeError);
    assert.equal(fifo.stats().liveBytes, 300);
    fifo.check();
  });

  it("reset queues every page", () => {
    const fifo = new Fifo({ pageBytes: 512 });
    for (let i = 0; i < 20; i++) fifo.malloc(100);
    const extent = fifo.stats().extentBytes;
    fifo.reset();
    fifo.check();
    assert.equal(fifo.stats().liveBlocks, 0);
    assert.equal(fifo.malloc(100), FIFO_PAGES_START + 24 + 8, "page 0 is first in the queue");
    assert.equal(fifo.stats().extentBytes, extent);
  });

  it("check() catches corruption", () => {
    const fifo = new Fifo({ pageBytes: 512 });
    const a = fifo.malloc(16);
    fifo.malloc(16);
    fifo.store.u32[(a - 4) >>> 2] = 16; // a's span shrinks: blocks no longer tile the page
    assert.throws(() => fifo.check(), HeapCorruptionError);
  });
});
