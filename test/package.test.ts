import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

describe("the package", () => {
  it("imports itself by name inside a checkout (exports + self-reference)", () => {
    const script = 'import { Heap, policies } from "heapkit"; const h = new Heap(); console.log(h.malloc(8) > 0, Object.keys(policies).length);';
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: repoRoot, encoding: "utf8" });
    assert.equal(out.trim(), "true 11"); // the registry's eleven policies, the shared heap included
  });

  it("runs the README's ten-line example", () => {
    const script = [
      'import { Heap, DoubleFreeError } from "heapkit";',
      "const heap = new Heap(); const p = heap.malloc(24); heap.f64[p / 8] = 3.14;",
      "const q = heap.realloc(p, 4000); if (heap.f64[q / 8] !== 3.14) throw new Error('contents lost');",
      "heap.free(q); try { heap.free(q); throw new Error('no error'); } catch (e) { if (!(e instanceof DoubleFreeError)) throw e; }",
      "const same = Heap.attach(heap.store.buffer); same.check(); console.log(heap.stats().liveBlocks);",
    ].join("\n");
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: repoRoot, encoding: "utf8" });
    assert.equal(out.trim(), "0");
  });

  it("runs the npm start demo: every step drawn, the double free caught, the heap checked", () => {
    const out = execFileSync(process.execPath, [path.join(repoRoot, "dist/examples/demo.js")], { cwd: repoRoot, encoding: "utf8" });
    assert.match(out, /the three holes coalesce into one\.\n  \[[#. -]{64}\]/);
    assert.match(out, /DoubleFreeError: invalid pointer \d+: double free/);
  });
});
