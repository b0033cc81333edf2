/**
 * The small-block fast paths stay short enough for V8 to inline into a caller's loop: in a fresh
 * process, every optimization of a loop of `malloc(32)` + `free` inlines all four of Heap.malloc,
 * Heap.free, SmallSlabs.malloc and SmallSlabs.free (`--trace-turbo-inlining`). Bytecode added to
 * them past V8's budget leaves one called, and the pair about 1.4x slower (docs/architecture.md,
 * "Why the fast paths are short"). V8's budget is per version: the test runs on Node 20 only.
 * It asserts what the compiler did, not a time.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";

const NODE_MAJOR = Number(process.versions.node.split(".")[0]);

/** The child: a named loop of pairs, called until V8 has optimized it (on-stack and whole). */
const CHILD = `
const { Heap } = await import(${JSON.stringify(new URL("../src/heap/heap.js", import.meta.url).href)});
const heap = new Heap();
function pairsLoop(a, n) { for (let i = 0; i < n; i++) a.free(a.malloc(32)); }
for (let round = 0; round < 40; round++) pairsLoop(heap, 20000);
heap.check();
`;

/** How often each function (by its SharedFunctionInfo) named `name` was inlined into pairsLoop. */
function inlinedInto(trace: string, name: string): number[] {
  const counts = new Map<string, number>();
  const line = new RegExp(`^Inlining \\S+ \\{(\\S+) <SharedFunctionInfo ${name}>\\} into \\S+ \\{\\S+ <SharedFunctionInfo pairsLoop>\\}`, "gm");
  for (const match of trace.matchAll(line)) counts.set(match[1]!, (counts.get(match[1]!) ?? 0) + 1);
  return [...counts.values()];
}

describe("Heap: the fast paths fit V8's inlining budget", { skip: NODE_MAJOR !== 20 ? "V8's budget is Node 20's here" : false }, () => {
  it("inlines both layers of malloc and of free into every optimization of a pairs loop", () => {
    const trace = execFileSync(process.execPath, ["--trace-turbo-inlining", "--input-type=module", "-e", CHILD], { encoding: "utf8", maxBuffer: 1 << 26 });
    const compilations = trace.match(/^Inlining \S+ \{\S+ <SharedFunctionInfo malloc>\} into \S+ \{\S+ <SharedFunctionInfo pairsLoop>\}/gm)?.length ?? 0;
    assert.ok(compilations > 0, "pairsLoop was optimized with a malloc inlined");
    // Heap.malloc and SmallSlabs.malloc (Heap.free and SmallSlabs.free): two functions, each
    // inlined once per optimization of the loop.
    for (const name of ["malloc", "free"]) {
      const counts = inlinedInto(trace, name);
      assert.equal(counts.length, 2, `two functions named ${name} inlined into the loop, not ${counts.length}`);
      assert.equal(counts[0], counts[1], `both ${name}s inlined in every optimization of the loop (${counts.join(" and ")} times)`);
    }
  });
});
