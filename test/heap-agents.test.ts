/**
 * Several agents on one heap: a second `Heap.attach` of the same store (in this thread, or in a
 * Worker) grows it, and the first heap, which did not grow it, frees what the second allocated.
 * Every layer must notice the growth by itself (no `refresh()` call here), and `check()` must
 * pass in both. Also: race-safe growth of a shared store, the store's generation, and an
 * attach that fails leaving the store usable.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import { ByteStore, Heap, InvalidStoreError } from "../src/index.js";
import { readFileSync } from "node:fs";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { Layout, Word } from "../src/heap/layout.js";
import type { AgentReply, AgentRequest } from "./support/heap-agent.js";
import { rng } from "./support/model.js";
import { REPO_ROOT } from "./support/traces.js";

const BLOCKS = 200;

/** 200 sizes of 5,000 or 70,000 bytes (mid-slab-free TLSF blocks, some page-sized). */
function growingSizes(seed: number): number[] {
  const random = rng(seed);
  return Array.from({ length: BLOCKS }, () => (random() < 0.5 ? 5000 : 70000));
}

/** A heap of `kind` with room to grow from 64 KiB to 256 MiB; WASM memories shared so a Worker can have them. */
function firstHeap(kind: "resizable" | "shared" | "wasm"): Heap {
  if (kind !== "wasm") return new Heap({ kind, maxBytes: 2 ** 28 });
  return new Heap({ store: ByteStore.wrap(new WebAssembly.Memory({ initial: 1, maximum: 4096, shared: true })) });
}

describe("Heap: two agents on one store", () => {
  for (const kind of ["resizable", "shared", "wasm"] as const) {
    it(`${kind}: a second attach grows the store, the first frees its blocks, both check`, () => {
      const first = firstHeap(kind);
      const kept = [first.malloc(24), first.malloc(600), first.malloc(5000)];
      const committed = first.store.committedBytes;
      const second = Heap.attach(first.store.handle);
      const ptrs = growingSizes(1).map((size) => second.mallocOrThrow(size));
      assert.ok(second.store.committedBytes > committed * 16, "the second agent grew the store");
      for (const p of ptrs) first.free(p);
      first.check();
      second.check();
      assert.equal(first.stats().liveBlocks, kept.length);
      assert.equal(second.stats().liveBlocks, kept.length);
      // The first agent allocates into what the second grew, and the second frees it.
      const again = growingSizes(2).map((size) => first.mallocOrThrow(size));
      for (const p of again) second.free(p);
      for (const p of kept) second.free(p);
      first.check();
      second.check();
      assert.equal(first.stats().liveBlocks, 0);
    });

    it(`${kind}: small and mid blocks of the second agent, freed by the first`, () => {
      const first = firstHeap(kind);
      const second = Heap.attach(first.store.handle);
      const random = rng(3);
      const ptrs = Array.from({ length: 20000 }, () => second.mallocOrThrow(1 + Math.floor(random() * 4000)));
      for (const p of ptrs) first.free(p);
      first.check();
      second.check();
      assert.equal(second.stats().liveBlocks, 0);
    });
  }

  it("a store whose buffer another agent trimmed is noticed as well", () => {
    const first = new Heap({ kind: "resizable", maxBytes: 2 ** 26 });
    const second = Heap.attach(first.store.handle);
    const big = second.mallocOrThrow(4_000_000);
    second.free(big);
    assert.ok(second.trim() > 0);
    first.check();
    const p = first.mallocOrThrow(100);
    second.free(p);
    second.check();
  });
});

/** Sends one request to the agent and waits for its reply. */
function ask(worker: Worker, request: AgentRequest): Promise<AgentReply> {
  return new Promise((resolve, reject) => {
    worker.once("message", (reply: AgentReply) => (reply.ok ? resolve(reply) : reject(new Error(reply.error))));
    worker.once("error", reject);
    worker.postMessage(request);
  });
}

describe("Heap: a Worker as the second agent", () => {
  for (const kind of ["shared", "wasm"] as const) {
    it(`${kind}: the Worker grows the heap, this thread frees its blocks, both check`, async () => {
      const first = firstHeap(kind);
      const worker = new Worker(new URL("./support/heap-agent.js", import.meta.url));
      try {
        await ask(worker, { op: "attach", handle: first.store.handle as SharedArrayBuffer | WebAssembly.Memory });
        const grown = await ask(worker, { op: "malloc", sizes: growingSizes(4) });
        assert.ok(grown.committedBytes! > first.store.u8.length, "the Worker grew the store past this thread's views");
        for (const p of grown.ptrs!) first.free(p);
        first.check();
        await ask(worker, { op: "check" });
        assert.equal(first.stats().liveBlocks, 0);
      } finally {
        await worker.terminate();
      }
    });
  }
});

describe("ByteStore: growth by several agents", () => {
  it("grows a shared buffer to the larger of what is there and what is wanted", () => {
    const a = ByteStore.create({ kind: "shared", initialBytes: 65536, maxBytes: 2 ** 24 });
    const b = ByteStore.wrap(a.handle as SharedArrayBuffer);
    assert.ok(b.grow(1 << 20));
    assert.equal(a.u8.length, 65536, "a's views are a's until it looks");
    assert.ok(a.grow(1 << 19), "less than another agent grew to is no failure");
    assert.equal(a.committedBytes, 1 << 20);
    assert.equal(a.u8.length, 1 << 20, "grow refreshes the views even when it had nothing to grow");
  });

  it("counts another agent growing past the request, in the middle of a grow, as success", () => {
    const buffer = new SharedArrayBuffer(65536, { maxByteLength: 2 ** 24 });
    const store = ByteStore.wrap(buffer);
    const realGrow = buffer.grow.bind(buffer);
    let raced = false;
    Object.defineProperty(buffer, "grow", {
      value: (n: number) => {
        if (!raced) {
          raced = true;
          realGrow(n + 65536); // another agent got there first, further
        }
        realGrow(n); // throws: the buffer is already larger
      },
    });
    assert.ok(store.grow(1 << 18));
    assert.ok(raced);
    assert.equal(store.committedBytes, (1 << 18) + 65536);
    assert.equal(store.u32.length * 4, store.committedBytes);
  });

  it("changes its generation exactly when it remakes the views", () => {
    const store = ByteStore.create({ kind: "resizable", maxBytes: 2 ** 24 });
    const before = store.generation;
    assert.equal(store.refresh(), false);
    assert.ok(store.grow(1000));
    assert.equal(store.generation, before, "no growth, no new views");
    assert.ok(store.grow(1 << 20));
    assert.equal(store.generation, before + 1);
    const other = ByteStore.wrap(store.handle as ArrayBuffer);
    assert.ok(other.grow(1 << 21));
    assert.equal(store.generation, before + 1, "another agent's growth is seen at the next refresh");
    assert.equal(store.refresh(), true);
    assert.equal(store.generation, before + 2);
    assert.equal(store.f64.length, (1 << 21) / 8);
  });
});

describe("Heap.attach leaves no mark", () => {
  it("a failed attach leaves the store usable by a later new Heap", () => {
    const store = ByteStore.create({ maxBytes: 2 ** 24 });
    assert.throws(() => Heap.attach(store), InvalidStoreError);
    const heap = new Heap({ store });
    heap.free(heap.mallocOrThrow(100));
    heap.check();
  });

  it("an attach of another layout version names both versions, and the store stays usable", () => {
    const heap = new Heap({ maxBytes: 2 ** 24 });
    const version = heap.u32[Word.VERSION]!;
    heap.u32[Word.VERSION] = version - 1;
    assert.throws(() => Heap.attach(heap.store), (e: Error) => e instanceof InvalidStoreError && e.message.includes(`version ${version - 1}`) && e.message.includes(`version ${version}`));
    const fresh = new Heap({ store: heap.store });
    fresh.check();
    assert.equal(fresh.stats().liveBlocks, 0);
  });

  for (const version of [9, 10, 11]) {
    it(`an attach of a heap saved by an earlier release (layout ${version}, test/fixtures) names both versions`, () => {
      const saved = gunzipSync(readFileSync(path.join(REPO_ROOT, `test/fixtures/heap-layout-${version}.bin.gz`)));
      const buffer = new ArrayBuffer(saved.length);
      new Uint8Array(buffer).set(saved);
      assert.throws(() => Heap.attach(buffer), (e: Error) => e instanceof InvalidStoreError && e.message.includes(`version ${version} is not supported (this heapkit reads version ${Layout.VERSION})`));
    });
  }

  it("the heap's secret differs between heaps (crypto, not a fixed seed)", () => {
    const secrets = new Set(Array.from({ length: 8 }, () => new Heap({ maxBytes: 2 ** 20 }).u32[Word.SECRET]));
    assert.ok(secrets.size >= 7);
  });
});
