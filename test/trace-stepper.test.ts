/**
 * The stepping replayer: steps and their counts, typed failures (never a throw), seeks forwards
 * and backwards (from checkpoints reopened with Heap.attach, or by replaying from op 0) landing
 * in the same state as a straight replay, and bad arguments refused by name.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import type { Allocator } from "../src/allocator.js";
import { Buddy } from "../src/allocators/buddy.js";
import { Heap } from "../src/heap/heap.js";
import { InvalidStepError, TraceStepper } from "../src/index.js";
import { parseTrace } from "../src/trace/parser.js";
import { readTraceFile } from "../src/trace/reader.js";
import type { Trace } from "../src/trace/trace.js";
import { BumpAllocator, type BumpOptions } from "./support/bump.js";
import { expectError } from "./support/expect-error.js";
import { REPO_ROOT, sharedTracePath, tracePrefix, traceText } from "./support/traces.js";

const trace = (lines: string[]) => parseTrace(new TextEncoder().encode(traceText(lines)), "t.rep");
const bump = (options?: BumpOptions) => () => new BumpAllocator(options);
const HAND = ["a 0 10", "a 1 20", "r 0 30", "f 1", "a 2 5", "f 0"];

/** Everything a replay state is: the live ids with their pointers and the allocator's counts. */
function snapshot(stepper: TraceStepper): { op: number; live: [number, number, number][]; liveBlocks: number; liveBytes: number } {
  const live: [number, number, number][] = [];
  stepper.forEachLive((id, ptr, bytes) => live.push([id, ptr, bytes]));
  const stats = stepper.allocator.stats();
  return { op: stepper.opIndex, live, liveBlocks: stats.liveBlocks, liveBytes: stats.liveBytes };
}

const failureKind = (stepper: TraceStepper) => stepper.failure?.kind;

/** The first 15,000 ops of git-log-p: real sizes and lifetimes, about a hundred ms to replay. */
let gitLog: Trace | undefined;
const gitLogTrace = async (): Promise<Trace> => (gitLog ??= tracePrefix(await readTraceFile(sharedTracePath("git-log-p")), 15_000));

describe("TraceStepper: stepping", () => {
  it("applies ops one at a time and in runs, tracking the live ids", () => {
    const stepper = new TraceStepper(trace(HAND), bump());
    assert.equal(stepper.opCount, 6);
    assert.equal(stepper.step(), 1);
    assert.deepEqual(stepper.liveIds(), [0]);
    assert.equal(stepper.bytesOf(0), 10);
    assert.equal(stepper.step(2), 2);
    assert.deepEqual(stepper.liveIds(), [0, 1]);
    assert.equal(stepper.bytesOf(0), 30);
    assert.equal(stepper.liveBytes, 50);
    assert.deepEqual(stepper.op(3), { kind: "f", id: 1, bytes: 20 });
    assert.equal(stepper.step(100), 3, "stops at the end");
    assert.ok(stepper.done);
    assert.equal(stepper.failure, null);
    assert.deepEqual(stepper.liveIds(), [2]);
    assert.equal(stepper.ptrOf(0), 0);
    assert.equal(stepper.step(), 0, "nothing left");
  });

  it("reports a realloc that loses contents as a typed failure and stops there", () => {
    const stepper = new TraceStepper(trace(["a 0 10", "r 0 30", "f 0"]), bump({ forgetsToCopy: true }));
    assert.equal(stepper.step(3), 1);
    assert.deepEqual(stepper.failure, {
      kind: "content",
      op: 1,
      message: "op 2 (r 0 30): block 0 (10 bytes at offset 24) lost its contents at byte 0 after realloc (the kept bytes)",
    });
    assert.equal(stepper.step(), 0, "stays stopped");
    assert.equal(stepper.opIndex, 1);
  });

  it("reports out of memory and a throwing allocator, not by throwing", () => {
    const oom = new TraceStepper(trace(["a 0 10", "a 1 100"]), bump({ limitBytes: 64 }));
    assert.equal(oom.step(Infinity), 1);
    assert.deepEqual(oom.failure, { kind: "out-of-memory", op: 1, message: "op 2 (a 1 100): malloc(100) returned 0 (out of memory)" });
    const throwing = new TraceStepper(trace(["a 0 10", "a 1 77"]), bump({ throwsOnSize: 77 }));
    throwing.step(2);
    assert.deepEqual(throwing.failure, { kind: "allocator-error", op: 1, message: "op 2 (a 1 77): RangeError: no 77" });
  });

  it("finds a block whose bytes another writer changed, when the block is freed", () => {
    const stepper = new TraceStepper(trace(["a 0 64", "a 1 8", "f 0"]), () => new Heap());
    stepper.step(2);
    stepper.allocator.store.u8[stepper.ptrOf(0) + 40]! ^= 1;
    stepper.step();
    assert.equal(stepper.failure?.kind, "content");
    assert.match(stepper.failure!.message, /^op 3 \(f 0\): block 0 \(64 bytes at offset \d+\) lost its contents at byte 40 before free$/);
  });

  it("runs check() every k ops and reports its error as a check failure after that op", () => {
    let checks = 0;
    const make = (): Allocator => Object.assign(new BumpAllocator(), { check: () => { if (++checks === 2) throw new Error("broken"); } });
    const stepper = new TraceStepper(trace(HAND), make, { checkEvery: 2 });
    assert.equal(stepper.step(6), 4);
    assert.deepEqual(stepper.failure, { kind: "check", op: 3, message: "op 4 (f 1): check() after this op: Error: broken" });
  });

  it("checks the allocator's live count at the end", () => {
    const make = (): Allocator => {
      const a = new BumpAllocator();
      const stats = a.stats.bind(a);
      return Object.assign(a, { stats: () => ({ ...stats(), liveBlocks: 7 }) });
    };
    const stepper = new TraceStepper(trace(["a 0 10"]), make);
    stepper.step();
    assert.deepEqual(stepper.failure, { kind: "stats", op: 1, message: "the allocator reports 7 live blocks at the end, the trace has 1" });
    assert.ok(stepper.done);
  });

  it("can run without patterns (the bytes are the caller's)", () => {
    const stepper = new TraceStepper(trace(["a 0 10", "r 0 30", "f 0"]), bump({ forgetsToCopy: true }), { patterns: false });
    assert.equal(stepper.step(3), 3);
    assert.equal(stepper.failure, null);
  });

  it("refuses bad counts and indexes by value", () => {
    const stepper = new TraceStepper(trace(HAND), bump());
    for (const n of [-1, 1.5, NaN]) expectError(() => stepper.step(n), InvalidStepError, { value: n });
    for (const op of [-1, 7, NaN, 2.5]) expectError(() => stepper.seek(op), InvalidStepError, { value: op });
    expectError(() => new TraceStepper(trace(HAND), bump(), { checkEvery: -2 }), InvalidStepError, { value: -2 });
    assert.equal(stepper.opIndex, 0);
  });
});

describe("TraceStepper: seeking", () => {
  for (const [name, make] of [["heap (checkpoints by attach)", () => new Heap()], ["buddy (replays from op 0)", () => new Buddy()]] as const) {
    it(`${name}: any seek lands where a straight replay does`, async () => {
      const shared = await gitLogTrace();
      const targets = [6_000, 1_000, 11_234, 11_234, 0, 14_000, 4_001, shared.opCount, 1_024];
      const straight = new Map<number, ReturnType<typeof snapshot>>();
      const reference = new TraceStepper(shared, make);
      for (const target of [...new Set(targets)].sort((a, b) => a - b)) {
        reference.step(target - reference.opIndex);
        straight.set(target, snapshot(reference));
      }
      assert.equal(reference.failure, null);
      const stepper = new TraceStepper(shared, make, { checkpointEvery: 1024, checkEvery: 5_000 });
      for (const target of targets) {
        assert.equal(stepper.seek(target), target);
        assert.equal(stepper.failure, null, stepper.failure?.message);
        assert.deepEqual(snapshot(stepper), straight.get(target), `seek(${target})`);
        stepper.allocator.check();
      }
      stepper.seek(5_000);
      assert.equal(stepper.step(Infinity), shared.opCount - 5_000);
      assert.ok(stepper.done);
      assert.equal(stepper.failure, null, stepper.failure?.message);
      assert.deepEqual(snapshot(stepper), straight.get(shared.opCount));
    });
  }

  it("seeks backwards from a checkpoint, not from op 0, where the allocator can attach", () => {
    const lines = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? `a ${i >> 1} ${16 + i}` : `f ${i >> 1}`));
    let made = 0;
    const stepper = new TraceStepper(trace(lines), () => (made++, new Heap()), { checkpointEvery: 8 });
    stepper.step(Infinity);
    const before = stepper.allocator;
    stepper.seek(17);
    assert.equal(made, 1, "no fresh allocator: a checkpoint was reopened");
    assert.notEqual(stepper.allocator, before);
    assert.equal(stepper.opIndex, 17);
    assert.deepEqual(stepper.liveIds(), [8]);
    stepper.allocator.check();
  });

  it("clears a failure when it seeks back before it, and stops at it again going forward", () => {
    const stepper = new TraceStepper(trace(["a 0 10", "r 0 30", "f 0"]), bump({ forgetsToCopy: true }));
    stepper.step(3);
    assert.equal(stepper.failure?.op, 1);
    assert.equal(stepper.seek(1), 1);
    assert.equal(stepper.failure, null);
    assert.equal(stepper.seek(3), 1);
    assert.equal(failureKind(stepper), "content");
  });

  it("keeps checkpoints within a byte budget and stays correct", async () => {
    const shared = await gitLogTrace();
    const stepper = new TraceStepper(shared, () => new Heap(), { checkpointEvery: 256, checkpointBudgetBytes: 2 * 2 ** 20 });
    const reference = new TraceStepper(shared, () => new Heap());
    reference.step(7_000);
    stepper.step(13_000);
    assert.equal(stepper.seek(7_000), 7_000);
    assert.deepEqual(snapshot(stepper), snapshot(reference));
  });
});

describe("TraceStepper in the README", () => {
  it("runs the README's stepping example and prints what its comments say", () => {
    const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("### Stepping through a trace"));
    const snippet = /```js\n([\s\S]*?)```/.exec(section)![1]!;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", snippet], { cwd: REPO_ROOT, encoding: "utf8" });
    assert.equal(out, "[ 0, 1 ] true\n1 null\n");
  });
});
