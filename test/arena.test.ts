import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DoubleFreeError, HeapCorruptionError, InvalidAlignmentError, InvalidFreeError, InvalidSizeError, UnsupportedOperationError } from "../src/errors.js";
import { Arena, InvalidMarkError } from "../src/allocators/arena.js";
import { DATA_START } from "../src/allocators/bump.js";
import { ReferenceModel, rng } from "./support/model.js";
import { STORE_KINDS } from "./support/kinds.js";

/** Forgets (after checking their contents) every model block at or above `mark`. */
function forgetAbove(model: ReferenceModel, mark: number): void {
  for (const ptr of [...model.live.keys()]) if (ptr > mark) model.live.delete(ptr);
}

function highestLive(model: ReferenceModel): number {
  return Math.max(...model.live.keys());
}

describe("Arena", () => {
  it("bumps: consecutive blocks sit header-to-header, 8-aligned", () => {
    const arena = new Arena();
    const a = arena.malloc(10);
    const b = arena.malloc(8);
    assert.equal(a, DATA_START + 8);
    assert.equal(b, a + 16 + 8, "10 bytes round up to 16, then the next 8-byte header");
    assert.equal(arena.usableSize(a), 10);
    arena.check();
  });

  // Two seeds a kind, each kind its own: ten random sequences in all.
  for (const [k, kind] of STORE_KINDS.entries()) {
    for (const seed of [11 + 2 * k, 12 + 2 * k]) {
      it(`random malloc/realloc/free-last/mark/release against the model on ${kind} (seed ${seed})`, () => {
        const arena = new Arena({ kind, initialBytes: kind === "array-buffer" ? 65536 : 4096 });
        const model = new ReferenceModel(arena);
        const random = rng(seed);
        let marks: number[] = [];
        let released = 0;
        let unsupported = 0;
        for (let step = 0; step < 2000; step++) {
          const r = random();
          if (r < 0.4) {
            const align = random() < 0.8 ? 8 : 2 ** (4 + Math.floor(random() * 8));
            model.malloc(Math.floor(random() * 200), align);
          } else if (r < 0.55 && model.live.size > 0) {
            model.free(highestLive(model));
          } else if (r < 0.65 && model.live.size > 1) {
            const ptr = model.pick(random())!;
            if (ptr === highestLive(model)) continue;
            assert.throws(() => arena.free(ptr), UnsupportedOperationError);
            unsupported++;
          } else if (r < 0.8 && model.live.size > 0) {
            const ptr = model.pick(random())!;
            const oldSize = model.live.get(ptr)!.size;
            const size = Math.floor(random() * 300);
            const moved = model.realloc(ptr, size);
            // A mark just above a block resized in place may now fall inside it or its gap.
            if (moved === ptr) marks = marks.filter((m) => m <= ptr || m > ptr + Math.max(oldSize, size) + 8);
          } else if (r < 0.9) {
            marks.push(arena.mark());
          } else if (marks.length > 0) {
            const i = Math.floor(random() * marks.length);
            const mark = marks[i]!;
            marks = marks.slice(0, i);
            model.verifyAll();
            arena.release(mark);
            forgetAbove(model, mark);
            released++;
          }
          marks = marks.filter((m) => m <= arena.mark());
          model.checkLaws();
        }
        assert.ok(released > 10 && unsupported > 10, `exercised release (${released}) and refused frees (${unsupported})`);
        arena.reset();
        model.live.clear();
        model.verifyAll();
        assert.equal(arena.stats().extentBytes, DATA_START);
      });
    }
  }

  it("mark/release frees exactly what came after the mark", () => {
    const arena = new Arena();
    const a = arena.malloc(100);
    const m = arena.mark();
    arena.malloc(50);
    const inner = arena.mark();
    arena.malloc(70, 64);
    assert.equal(arena.stats().liveBlocks, 3);
    arena.release(m);
    arena.check();
    assert.equal(arena.stats().liveBlocks, 1);
    assert.equal(arena.stats().liveBytes, 100);
    assert.equal(arena.stats().freeCount, 2);
    assert.equal(arena.mark(), m, "the top is back at the mark");
    assert.throws(() => arena.release(inner), InvalidMarkError, "released already: above the top");
    assert.equal(arena.malloc(50), Math.ceil(m / 8) * 8 + 8, "space after the mark is reused");
    assert.equal(arena.usableSize(a), 100);
  });

  it("rejects bad marks with InvalidMarkError and changes nothing", () => {
    const arena = new Arena();
    const a = arena.malloc(40);
    arena.malloc(40);
    const before = arena.stats();
    for (const mark of [NaN, -1, 1.5, 0, a + 4, a, 10 ** 9, Infinity]) {
      assert.throws(() => arena.release(mark), InvalidMarkError, `release(${mark})`);
      assert.throws(() => arena.release(mark), InvalidFreeError, "an InvalidMarkError is an InvalidFreeError");
    }
    assert.deepEqual(arena.stats(), before);
    arena.check();
  });

  it("frees the last block in place; any other one is unsupported", () => {
    const arena = new Arena();
    const a = arena.malloc(16);
    const b = arena.malloc(16);
    assert.throws(() => arena.free(a), UnsupportedOperationError);
    arena.free(b);
    assert.equal(arena.mark(), a + 16);
    assert.throws(() => arena.free(b), InvalidFreeError, "above the top now");
    arena.free(a);
    assert.equal(arena.stats().extentBytes, DATA_START);
    arena.check();
  });

  it("reallocs the last block in place and moves others, leaving a dead block", () => {
    const arena = new Arena();
    const a = arena.malloc(16);
    const b = arena.malloc(16);
    assert.equal(arena.realloc(b, 1000), b, "last block grows in place");
    assert.equal(arena.mark(), b + 1000);
    assert.equal(arena.realloc(a, 8), a, "shrinks in place");
    const moved = arena.realloc(a, 64);
    assert.ok(moved > b, "a non-last block that grows moves to the top");
    assert.throws(() => arena.free(a), DoubleFreeError, "the old block is dead");
    const stats = arena.stats();
    assert.equal(stats.liveBlocks, 2);
    assert.equal(stats.liveBytes, 1064);
    assert.ok(stats.freeBytes >= 16, "the dead block is a hole");
    arena.free(moved); // b is last again
    assert.equal(arena.mark(), b + 1000);
    arena.check();
  });

  it("aligns to 4096 with a pad record and rejects bad alignments", () => {
    const arena = new Arena();
    arena.malloc(3);
    const p = arena.malloc(10, 4096);
    assert.equal(p % 4096, 0);
    arena.check();
    assert.deepEqual([...arena.walk()].map((b) => b.kind).filter((k) => k !== "used"), ["meta", "pad"], "control block and one pad");
    for (const align of [3, 8192, 0, NaN]) assert.throws(() => arena.malloc(8, align), InvalidAlignmentError);
    arena.free(p);
    assert.equal(arena.stats().liveBlocks, 1);
    arena.check();
  });

  it("rejects bad sizes and pointers with typed errors and stays consistent", () => {
    const arena = new Arena({ maxBytes: 1 << 20 });
    const a = arena.malloc(32);
    const before = arena.stats();
    for (const size of [NaN, -1, 1.5, 2 ** 40, Infinity]) {
      assert.throws(() => arena.malloc(size), InvalidSizeError);
      assert.throws(() => arena.realloc(a, size), InvalidSizeError);
    }
    for (const ptr of [0, -8, a + 4, a + 0.5, NaN, 12345678, DATA_START]) {
      assert.throws(() => arena.free(ptr), InvalidFreeError, `free(${ptr})`);
      assert.throws(() => arena.usableSize(ptr), InvalidFreeError);
    }
    assert.equal(arena.malloc(1 << 20), 0, "within the size limit but beyond the store: 0");
    assert.deepEqual(arena.stats(), before);
    arena.check();
  });

  it("reports stats with lazily noted peaks", () => {
    const arena = new Arena();
    const m = arena.mark();
    arena.malloc(100);
    arena.malloc(200);
    const top = arena.mark();
    arena.release(m);
    const s = arena.stats();
    assert.equal(s.peakLiveBytes, 300);
    assert.equal(s.peakExtentBytes, top);
    assert.equal(s.mallocCount, 2);
    assert.equal(s.freeCount, 2);
    assert.equal(s.liveBlocks, 0);
  });

  it("counts mallocs and frees exactly across frees, releases, moves and reset", () => {
    const arena = new Arena();
    for (let i = 0; i < 5; i++) arena.malloc(16);
    assert.equal(arena.stats().mallocCount, 5);
    arena.check();
    const mark = arena.mark();
    const a = arena.malloc(8);
    arena.malloc(24);
    arena.check();
    arena.release(mark);
    assert.deepEqual([arena.stats().mallocCount, arena.stats().freeCount], [7, 2]);
    const b = arena.malloc(8);
    arena.malloc(8);
    arena.realloc(b, 64); // moved: one more malloc and one more free
    assert.equal(a, b);
    arena.check();
    assert.deepEqual([arena.stats().mallocCount, arena.stats().freeCount, arena.stats().liveBlocks], [10, 3, 7]);
    arena.reset();
    arena.malloc(8);
    arena.check();
    assert.deepEqual([arena.stats().mallocCount, arena.stats().freeCount, arena.stats().liveBlocks], [11, 10, 1]);
  });

  it("check() catches corruption", () => {
    const arena = new Arena();
    const a = arena.malloc(16);
    arena.malloc(16);
    arena.store.u32[(a - 8) >>> 2] = 17; // a's size now overlaps the next header
    assert.throws(() => arena.check(), HeapCorruptionError);
  });
});
