/**
 * A Heap under damage: attach refuses doctored and truncated images naming the field and
 * leaves the buffer as it was; single-byte metadata flips of a saved heap (in a Worker, so a
 * hang is seen as one) end in an error or a heap that behaves like the model; a header forged
 * inside a live block is refused by HardenedHeap (the plain Heap's limit is in the README).
 * HEAPKIT_FLIPS sets the number of flips (300 here; `npm run test:flips` runs the bar's 2,000).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Worker } from "node:worker_threads";
import { HardenedHeap } from "../src/debug/hardened-heap.js";
import { HeapkitError, InvalidHeapImageError } from "../src/errors.js";
import { Heap } from "../src/heap/heap.js";
import { keyOf, Layout, Word } from "../src/heap/layout.js";
import type { FlipJob, FlipMessage } from "./support/flip-worker.js";

function savedHeap(): Uint8Array {
  const heap = new Heap({ kind: "array-buffer", initialBytes: 1 << 20 });
  for (let i = 0; i < 200; i++) heap.malloc(i % 3 === 0 ? 20000 : i % 3 === 1 ? 1000 : 40);
  for (let i = 0; i < 200; i += 3) heap.free(heap.malloc(64));
  return heap.store.u8.slice();
}

type Doctor = (u32: Uint32Array) => void;

const FIELDS: [field: string, doctor: Doctor][] = [
  ["magic", (u32) => { u32[Word.MAGIC] = 0x12345678; }],
  ["version", (u32) => { u32[Word.VERSION]! += 1; }],
  ["page map size", (u32) => { u32[Word.PAGE_MAP_WORDS] = 0; }],
  ["mid root size", (u32) => { u32[Word.MID_ROOT_WORDS]! += 1000; }],
  ["heap start", (u32) => { u32[Word.HEAP_START]! += 8; }],
  ["top", (u32) => { u32[Word.TOP] = 355896 * 8; }],
  ["top", (u32) => { u32[Word.TOP]! += 4; }],
  ["secret", (u32) => { u32[Word.SECRET]! ^= 0x10000; }],
];

describe("Heap.attach: doctored and truncated images", () => {
  for (const [field, doctor] of FIELDS) {
    test(`a doctored ${field} is refused, naming it; the buffer is unchanged`, () => {
      const bytes = savedHeap();
      doctor(new Uint32Array(bytes.buffer));
      const before = bytes.slice();
      assert.throws(() => Heap.attach(bytes.buffer as ArrayBuffer), (e: unknown) => e instanceof InvalidHeapImageError && e.field === field);
      assert.ok(Buffer.from(bytes).equals(Buffer.from(before)));
    });
  }
  for (const length of [4097, 12000, 300_000]) {
    test(`a copy truncated to ${length} bytes is refused`, () => {
      const bytes = savedHeap().slice(0, length);
      const before = bytes.slice();
      assert.throws(() => Heap.attach(bytes.buffer as ArrayBuffer), (e: unknown) => e instanceof InvalidHeapImageError && ["length", "top"].includes(e.field));
      assert.ok(Buffer.from(bytes).equals(Buffer.from(before)));
    });
  }
  test("an intact copy attaches and checks", () => {
    const heap = Heap.attach(savedHeap().buffer as ArrayBuffer);
    heap.check();
    heap.free(heap.malloc(100));
    heap.check();
  });
});

describe("Heap: single-byte metadata flips of a saved heap", () => {
  const flips = Number(process.env["HEAPKIT_FLIPS"] ?? 300);
  test(`${flips} flips: every call ends, nothing misbehaves after check() passes`, { timeout: 600_000 }, async () => {
    const outcomes: Record<string, number> = {};
    const misbehaved: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const job: FlipJob = { seed: 1, first: 0, count: flips };
      const worker = new Worker(new URL("./support/flip-worker.js", import.meta.url), { workerData: job });
      let lastFlip = -1;
      let timer = setTimeout(hang, 20_000);
      function hang(): void {
        void worker.terminate();
        reject(new Error(`flip ${lastFlip + 1} did not end within 20 s (a hang)`));
      }
      worker.on("message", (m: FlipMessage) => {
        clearTimeout(timer);
        timer = setTimeout(hang, 20_000);
        if (m.kind === "done-flip") {
          outcomes[m.outcome] = (outcomes[m.outcome] ?? 0) + 1;
          lastFlip = m.flip;
        } else if (m.kind === "misbehaved") {
          misbehaved.push(`flip ${m.flip} (byte ${m.offset}, bit ${m.bit}): ${m.error.split("\n")[0]}`);
          lastFlip = m.flip;
        } else {
          clearTimeout(timer);
          resolve();
        }
      });
      worker.on("error", (error) => { clearTimeout(timer); reject(error); });
    });
    assert.deepEqual(misbehaved, []);
    assert.ok((outcomes["check-failed"] ?? 0) > flips / 2, `check() catches most flips: ${JSON.stringify(outcomes)}`);
  });
});

describe("a header forged inside a live block", () => {
  /** Writes a used-block header for a 64-byte block at q into the bytes of a live block. */
  function forge(u32: Uint32Array, q: number, secret: number): void {
    const size = 72;
    u32[(q - 4) >>> 2] = size;
    u32[(q - 8) >>> 2] = (64 ^ keyOf(q, size, secret)) >>> 0;
  }
  test("HardenedHeap refuses it (its key is not in the buffer)", () => {
    const h = new HardenedHeap(new Heap());
    const a = h.malloc(10000);
    const q = a + 1024;
    const inner = h.inner.store.u32;
    forge(inner, q, inner[Word.SECRET]!);
    // Every guess of the hardened header next to the forged inner one is refused.
    for (const guess of [0, 1, 0xdeadbeef]) {
      inner[q >>> 2] = 64;
      inner[(q + 4) >>> 2] = guess;
      assert.throws(() => h.free(q + 8), (e: unknown) => e instanceof HeapkitError);
    }
    h.check();
    h.free(a);
    h.check();
  });
  test("the plain Heap accepts a forgery written with its in-buffer secret (the README's documented limit)", () => {
    const heap = new Heap();
    const a = heap.malloc(10000);
    const q = a + 1024 + Layout.HEADER_BYTES;
    forge(heap.store.u32, q, heap.store.u32[Word.SECRET]!);
    assert.doesNotThrow(() => heap.free(q));
    assert.throws(() => heap.check(), HeapkitError);
  });
});
