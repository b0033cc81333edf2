/**
 * The worker of the metadata-flip fuzz (heap-damage.test.ts): builds one saved Heap with a
 * seeded workload, then for each flip attaches a copy with one metadata byte changed, runs
 * check(), and when check() passes runs 400 model-checked operations on it. It posts after
 * every flip, so the test can tell a hang (no message within its bound) from slow progress.
 */
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { HeapkitError } from "../../src/errors.js";
import { Heap } from "../../src/heap/heap.js";
import { isSlabPage, midMetaBlocks } from "../../src/heap/inspect.js";
import { Layout, SLAB_CLASSES, slabClassOf, SlabWord, Word } from "../../src/heap/layout.js";
import { ReferenceModel, rng } from "./model.js";

export interface FlipJob { seed: number; first: number; count: number }
export type FlipMessage =
  | { kind: "done-flip"; flip: number; outcome: "refused" | "check-failed" | "survived" }
  | { kind: "misbehaved"; flip: number; offset: number; bit: number; error: string }
  | { kind: "finished" };

const OPS_AFTER_CHECK = 400;

function buildSavedHeap(seed: number): { bytes: Uint8Array; model: ReferenceModel } {
  const heap = new Heap({ kind: "array-buffer", initialBytes: 1 << 20 });
  const model = new ReferenceModel(heap);
  const r = rng(seed);
  for (let i = 0; i < 1500; i++) {
    const x = r();
    if (x < 0.55 || model.live.size === 0) {
      const size = r() < 0.6 ? Math.floor(r() * 256) : r() < 0.8 ? 257 + Math.floor(r() * 3800) : 4100 + Math.floor(r() * 30000);
      model.malloc(size);
    } else if (x < 0.85) model.free(model.pick(r())!);
    else model.realloc(model.pick(r())!, Math.floor(r() * 6000));
  }
  heap.check();
  return { bytes: heap.store.u8.slice(), model };
}

/** The metadata bytes: the control block, every block header, free links and footers, slab headers, mid leaves and descriptors. */
function metadataOffsets(bytes: Uint8Array): number[] {
  const u32 = new Uint32Array(bytes.buffer);
  const heapStart = u32[Word.HEAP_START]!;
  const top = u32[Word.TOP]!;
  const offsets: number[] = [];
  for (let i = 0; i < heapStart; i++) offsets.push(i);
  for (let b = heapStart; b < top; ) {
    const word = u32[(b + 4) >>> 2]!;
    const size = word & Layout.SIZE_MASK;
    for (let i = 0; i < 8; i++) offsets.push(b + i);
    const p = b + Layout.HEADER_BYTES;
    if (word & Layout.FREE_BIT) for (let i = 0; i < 8; i++) offsets.push(p + i, b + size - 4 + (i & 3));
    else if (isSlabPage(u32, p)) {
      const { firstSlot } = SLAB_CLASSES[slabClassOf(u32[(p >>> 2) + SlabWord.INFO]!)]!;
      for (let i = 0; i < firstSlot; i++) offsets.push(p + i);
    }
    b += size;
  }
  for (const meta of midMetaBlocks(u32)) for (let i = 0; i < 256; i++) offsets.push(meta + i);
  return offsets;
}

function runFlip(saved: { bytes: Uint8Array; model: ReferenceModel }, offset: number, bit: number, r: () => number): "refused" | "check-failed" | "survived" {
  const copy = saved.bytes.slice();
  copy[offset]! ^= 1 << bit;
  let heap: Heap;
  try {
    heap = Heap.attach(copy.buffer);
  } catch (error) {
    if (error instanceof HeapkitError) return "refused";
    throw error;
  }
  try {
    heap.check();
  } catch (error) {
    if (error instanceof HeapkitError) return "check-failed";
    throw error;
  }
  const model = new ReferenceModel(heap);
  for (const [ptr, block] of saved.model.live) model.live.set(ptr, { ...block });
  for (let i = 0; i < OPS_AFTER_CHECK; i++) {
    const x = r();
    if (x < 0.5 || model.live.size === 0) model.malloc(Math.floor(r() * (r() < 0.8 ? 300 : 20000)));
    else if (x < 0.8) model.free(model.pick(r())!);
    else model.realloc(model.pick(r())!, Math.floor(r() * 5000));
    if (i % 100 === 99) model.verifyAll();
  }
  model.verifyAll();
  heap.stats();
  return "survived";
}

// Run as a Worker only (a test runner given the whole folder loads this file as a test too).
if (!isMainThread) runFlips();

function runFlips(): void {
  const job = workerData as FlipJob;
  const saved = buildSavedHeap(job.seed);
  const offsets = metadataOffsets(saved.bytes);
  const r = rng(job.seed * 7919 + job.first);
  for (let flip = job.first; flip < job.first + job.count; flip++) {
    const offset = offsets[Math.floor(r() * offsets.length)]!;
    const bit = Math.floor(r() * 8);
    try {
      parentPort!.postMessage({ kind: "done-flip", flip, outcome: runFlip(saved, offset, bit, rng(flip)) } satisfies FlipMessage);
    } catch (error) {
      parentPort!.postMessage({ kind: "misbehaved", flip, offset, bit, error: String((error as Error).stack ?? error) } satisfies FlipMessage);
    }
  }
  parentPort!.postMessage({ kind: "finished" } satisfies FlipMessage);
}
