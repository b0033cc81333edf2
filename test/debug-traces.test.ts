/**
 * Zero false positives on real programs: the four shared traces replayed through DebugHeap and
 * HardenedHeap over the Heap, and git-log-p over every general-purpose allocator. Every block is filled with its own pattern (all of its bytes, up
 * to the red zone), verified before it is freed or resized, and the wrappers' check() runs every
 * CHECK_EVERY ops and at the end. The traces are complete, so the blocks live at the end are the
 * program's own leaks: the leak report must count exactly those.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Allocator } from "../src/allocator.js";
import { DebugHeap } from "../src/debug/debug-heap.js";
import { HardenedHeap } from "../src/debug/hardened-heap.js";
import { Heap } from "../src/heap/heap.js";
import { findPatternMismatch, fillPattern, patternWord } from "../src/trace/pattern.js";
import { readTraceFile } from "../src/trace/reader.js";
import { OP_ALLOC, OP_REALLOC, type Trace } from "../src/trace/trace.js";
import { GENERAL_PURPOSE_ALLOCATORS } from "./support/debug-inners.js";
import { SHARED_TRACE_NAMES, sharedTracePath } from "./support/traces.js";

const CHECK_EVERY = 200_000;

/** Replays `trace` with patterns; throws on the first wrapper error or lost byte. */
function replay(trace: Trace, allocator: Allocator): Uint32Array {
  const { kinds, ids, sizes, opCount } = trace;
  const ptrs = new Uint32Array(trace.idCount);
  const words = new Uint32Array(trace.idCount);
  const lengths = new Float64Array(trace.idCount);
  const verify = (id: number, op: number) => {
    const at = findPatternMismatch(allocator.store, ptrs[id]!, lengths[id]!, words[id]!);
    assert.equal(at, -1, `op ${op + 1}: block ${id} lost its contents at byte ${at}`);
  };
  for (let op = 0; op < opCount; op++) {
    const id = ids[op]!;
    const kind = kinds[op];
    if (kind === OP_ALLOC) {
      const size = sizes[op]!;
      const ptr = allocator.malloc(size);
      assert.notEqual(ptr, 0, `op ${op + 1}: out of memory`);
      words[id] = patternWord(op);
      fillPattern(allocator.store, ptr, 0, size, words[id]!);
      ptrs[id] = ptr;
      lengths[id] = size;
    } else if (kind === OP_REALLOC) {
      const size = sizes[op]!;
      verify(id, op);
      const ptr = allocator.realloc(ptrs[id]!, size);
      assert.notEqual(ptr, 0, `op ${op + 1}: out of memory`);
      ptrs[id] = ptr;
      const kept = Math.min(lengths[id]!, size);
      lengths[id] = kept;
      verify(id, op);
      fillPattern(allocator.store, ptr, kept, size, words[id]!);
      lengths[id] = size;
    } else {
      verify(id, op);
      allocator.free(ptrs[id]!);
      ptrs[id] = 0;
    }
    if ((op + 1) % CHECK_EVERY === 0) allocator.check();
  }
  allocator.check();
  return ptrs;
}

describe("debug and hardened modes over the Heap: the shared traces, no false positives", () => {
  for (const name of SHARED_TRACE_NAMES) {
    test(`${name}: DebugHeap, then HardenedHeap with delayed reuse`, async () => {
      const trace = await readTraceFile(sharedTracePath(name));

      const debug = new DebugHeap(new Heap());
      replay(trace, debug);
      const leaks = debug.leaks();
      assert.equal(leaks.blocks, trace.finalLiveBlocks);
      assert.equal(leaks.bytes, trace.finalLiveBytes);
      assert.equal(debug.stats().liveBytes, trace.finalLiveBytes);
      debug.flushQuarantine();
      debug.check();

      const hardened = new HardenedHeap(new Heap(), { quarantineBytes: 1 << 20 });
      replay(trace, hardened);
      assert.equal(hardened.stats().liveBlocks, trace.finalLiveBlocks);
      assert.equal(hardened.stats().liveBytes, trace.finalLiveBytes);
    });
  }
});

describe("debug and hardened modes over every general-purpose allocator: git-log-p, no false positives", () => {
  for (const inner of GENERAL_PURPOSE_ALLOCATORS) {
    test(`${inner.name}: DebugHeap and HardenedHeap`, async () => {
      const trace = await readTraceFile(sharedTracePath("git-log-p"));
      const debug = new DebugHeap(inner.create());
      replay(trace, debug);
      assert.equal(debug.leaks().blocks, trace.finalLiveBlocks);
      const hardened = new HardenedHeap(inner.create(), { quarantineBytes: 1 << 18 });
      replay(trace, hardened);
      assert.equal(hardened.stats().liveBytes, trace.finalLiveBytes);
    });
  }
});
