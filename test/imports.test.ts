/**
 * The module graph of src/, as a per-file transpiler (Vite's dev server, tsx, esbuild, vitest)
 * sees it: every file transpiled alone, where a `const enum` is a real object and an import of
 * one is a runtime import (`isolatedModules`). No runtime import may form a cycle (type-only
 * imports vanish in the transpiled output, so they do not count), and the package, so
 * transpiled, imports and makes a working Heap.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { transformSync } from "esbuild";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const srcRoot = path.join(repoRoot, "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [full] : [];
  });
}

/**
 * Each source file transpiled alone by esbuild (what Vite's dev server, tsx and vitest run):
 * relative path (.ts) to JavaScript. Type-only imports vanish; a `const enum` of another file is
 * a real import.
 */
function transpileEach(): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of sourceFiles(srcRoot)) {
    const result = transformSync(readFileSync(file, "utf8"), { loader: "ts", format: "esm", target: "es2022", sourcefile: file });
    out.set(path.relative(srcRoot, file), result.code);
  }
  return out;
}

const IMPORT = /^\s*(?:import|export)\b[^;]*?\bfrom\s*["'](\.{1,2}\/[^"']+)["']|^\s*import\s*["'](\.{1,2}\/[^"']+)["']/gm;

/** The runtime imports of each module, as paths relative to src/ (.ts). */
function importGraph(modules: Map<string, string>): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const [file, js] of modules) {
    const targets: string[] = [];
    for (const match of js.matchAll(IMPORT)) {
      const spec = match[1] ?? match[2]!;
      targets.push(path.normalize(path.join(path.dirname(file), spec)).replace(/\.js$/, ".ts"));
    }
    graph.set(file, targets);
  }
  return graph;
}

/** Every cycle found by a depth-first search, each as the modules along it. */
export function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

describe("imports of src/", () => {
  const modules = transpileEach();
  const dir = mkdtempSync(path.join(tmpdir(), "heapkit-isolated-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("the cycle finder finds a cycle (so the next test can fail)", () => {
    const graph = new Map([["a.ts", ["b.ts"]], ["b.ts", ["c.ts"]], ["c.ts", ["a.ts"]], ["d.ts", ["a.ts"]]]);
    assert.deepEqual(findCycles(graph), [["a.ts", "b.ts", "c.ts", "a.ts"]]);
    assert.deepEqual(findCycles(new Map([["a.ts", ["b.ts"]], ["b.ts", []]])), []);
  });

  it("has no runtime import cycle", () => {
    const graph = importGraph(modules);
    for (const [file, targets] of graph) for (const t of targets) assert.ok(graph.has(t), `${file} imports ${t}, which exists`);
    assert.deepEqual(findCycles(graph).map((c) => c.join(" -> ")), []);
  });

  it("imports the package transpiled file by file, and makes a Heap", async () => {
    for (const [file, js] of modules) {
      const target = path.join(dir, "src", file.replace(/\.ts$/, ".js"));
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, js);
    }
    writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module" }));
    symlinkSync(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"), "dir");
    const pkg = await import(pathToFileURL(path.join(dir, "src", "index.js")).href);
    const heap = new pkg.Heap();
    const ptrs = [8, 300, 5000, 300_000].map((size) => heap.mallocOrThrow(size));
    heap.f64[ptrs[1] / 8] = 2.5;
    assert.equal(heap.f64[ptrs[1] / 8], 2.5);
    for (const p of ptrs) heap.free(p);
    heap.check();
    assert.equal(heap.stats().liveBlocks, 0);
  });
});
