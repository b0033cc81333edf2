/**
 * Replays a recorded trace (or its first `limit` ops) through an allocator beside the
 * ReferenceModel, so every block's contents are written on allocation and verified on free and
 * realloc; verifyAll() (the allocator's check() included) runs every `checkEvery` ops and at the end.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Allocator } from "../../src/allocator.js";
import { readTraceFile } from "../../src/trace/reader.js";
import { OP_ALLOC, OP_FREE, type Trace } from "../../src/trace/trace.js";
import { ReferenceModel } from "./model.js";

/** dist/test/support -> repository root -> ../shared/traces */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const TRACES_DIR = path.resolve(REPO_ROOT, "../shared/traces");

export function loadTrace(file: string): Promise<Trace> {
  return readTraceFile(path.join(TRACES_DIR, file));
}

export interface ReplayResult {
  ops: number;
  model: ReferenceModel;
}

export function replay(allocator: Allocator, trace: Trace, limit = trace.opCount, checkEvery = 10_000): ReplayResult {
  const model = new ReferenceModel(allocator);
  const ptrs = new Float64Array(trace.idCount);
  const ops = Math.min(limit, trace.opCount);
  for (let i = 0; i < ops; i++) {
    const id = trace.ids[i]!;
    const size = trace.sizes[i]!;
    const kind = trace.kinds[i];
    if (kind === OP_ALLOC) {
      const ptr = model.malloc(size);
      assert.notEqual(ptr, 0, `op ${i}: malloc(${size}) ran out of memory`);
      ptrs[id] = ptr;
    } else if (kind === OP_FREE) {
      model.free(ptrs[id]!);
      ptrs[id] = 0;
    } else {
      const ptr = model.realloc(ptrs[id]!, size);
      assert.notEqual(ptr, 0, `op ${i}: realloc(${size}) ran out of memory`);
      ptrs[id] = ptr;
    }
    if ((i + 1) % checkEvery === 0) model.verifyAll();
  }
  model.verifyAll();
  return { ops, model };
}
