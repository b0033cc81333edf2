/**
 * The Heap-only browser bundle (decision 4): `import { Heap } from "heapkit"` bundled by esbuild
 * from the built package, minified, is at most 20 kB gzipped, and esbuild's metafile shows no
 * module of another policy, of the CLI, the report, the debug heaps or the trace code in it.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { describe, it } from "node:test";
import { build, type Metafile } from "esbuild";
import { REPO_ROOT } from "./support/traces.js";

const MAX_GZIP_BYTES = 20_000;
/**
 * Modules of the package that a Heap may bring: the core, its stores, its errors, size checks,
 * the walk contract's span kinds and sinks and the shared stats builder (walk() and stats()
 * stay on the class: decision 4).
 */
const HEAP_MODULE = /^dist\/src\/(heap\/[\w-]+|memory\/[\w-]+|errors|index|allocator|spans|allocators\/(validate|stats))\.js$/;

async function bundle(source: string): Promise<{ minified: Uint8Array; inputs: Metafile["outputs"][string]["inputs"] }> {
  const result = await build({
    stdin: { contents: source, resolveDir: REPO_ROOT, loader: "js" },
    bundle: true, minify: true, format: "esm", platform: "browser", target: "es2022",
    write: false, metafile: true, outfile: "heap-only.js", logLevel: "silent",
  });
  return { minified: result.outputFiles[0]!.contents, inputs: result.metafile.outputs["heap-only.js"]!.inputs };
}

/** The package's modules that put bytes into the bundle. */
function modulesIn(inputs: Metafile["outputs"][string]["inputs"]): string[] {
  return Object.entries(inputs).filter(([file, input]) => file !== "<stdin>" && input.bytesInOutput > 0).map(([file]) => file);
}

describe("the Heap-only bundle", () => {
  it(`is at most ${MAX_GZIP_BYTES / 1000} kB minified and gzipped, with no other policy, CLI, debug or trace code`, async () => {
    const { minified, inputs } = await bundle('import { Heap } from "heapkit"; const heap = new Heap(); heap.free(heap.malloc(8)); heap.check();');
    const gzipBytes = gzipSync(minified, { level: 9 }).length;
    console.log(`Heap-only bundle: ${minified.length} B minified, ${gzipBytes} B minified + gzip`);
    assert.ok(gzipBytes <= MAX_GZIP_BYTES, `${gzipBytes} B gzipped`);
    const modules = modulesIn(inputs);
    assert.ok(modules.includes("dist/src/heap/heap.js"), "the bundle holds the Heap");
    assert.deepEqual(modules.filter((file) => !HEAP_MODULE.test(file)), []);
  });

  it("would notice another policy: a bundle that uses Pool holds the pool's modules", async () => {
    const { inputs } = await bundle('import { Heap, Pool } from "heapkit"; new Heap(); new Pool();');
    assert.ok(modulesIn(inputs).some((file) => !HEAP_MODULE.test(file) && file.startsWith("dist/src/allocators/pool")));
  });

  it("the HTML report bundles for a browser (src/report imports no Node module)", async () => {
    const { inputs } = await bundle('import { reportHtml } from "./dist/src/report/html.js"; globalThis.page = reportHtml({ traces: [], rows: [], generatedAt: new Date(0) });');
    const modules = modulesIn(inputs);
    assert.ok(modules.includes("dist/src/report/html.js"));
    assert.deepEqual(modules.filter((file) => file.startsWith("dist/src/cli/")), []);
  });
});
