// `npm run test:package`: the package as a user gets it. Packs the built tree with `npm pack`,
// unpacks the tarball into small consumer projects in a temporary folder (nothing is fetched from
// a registry: TypeScript and @types/node are the repository's own), and compiles code that
// imports the main entry and every subpath under strict TypeScript with `skipLibCheck: false`,
// for each moduleResolution (bundler, node16, nodenext), with and without the DOM lib, as ESM
// and as CommonJS. Two of the projects are then run with node: an ESM one and a CommonJS one.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

/** The registry as the checkout builds it: what a consumer of the tarball must see. */
const POLICY_COUNT = Object.keys((await import("../dist/src/index.js")).policies).length;

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const TSC = path.join(REPO_ROOT, "node_modules/typescript/bin/tsc");
const TYPES_NODE = path.join(REPO_ROOT, "node_modules/@types/node");

/** Uses something from every entry; `node` adds the Node-only entry. */
function esmSource(node) {
  return [
    'import { Heap, Pool, Arena, Stack, Buddy, FitAllocator, ByteStore, policies, InvalidSizeError, type HeapStats } from "heapkit";',
    'import { DebugHeap, HardenedHeap, LeakReport } from "heapkit/debug";',
    'import { parseTrace, replayTrace, traceStats, type Trace } from "heapkit/trace";',
    node ? 'import { readTraceFile } from "heapkit/node";' : "",
    "const heap = new Heap();",
    "const p: number = heap.malloc(24);",
    "heap.f64[p / 8] = 1.5;",
    "heap.free(p);",
    "const stats: HeapStats = heap.stats();",
    "const others = [new Pool(), new Arena(), new Stack(), new Buddy(), new FitAllocator()];",
    "const store: ByteStore = heap.store;",
    "const debug = new DebugHeap(); debug.free(debug.malloc(8));",
    "const leaks: LeakReport = debug.leaks();",
    "const hardened = new HardenedHeap(); hardened.free(hardened.malloc(8));",
    'const bytes = Uint8Array.from("1\\n1\\n2\\n0\\na 0 8\\nf 0\\n", (c) => c.charCodeAt(0));',
    'const trace: Trace = parseTrace(bytes, "t.rep");',
    "const replayed = replayTrace(trace, () => new Heap());",
    node ? "const read: (path: string) => Promise<Trace> = readTraceFile;" : "",
    "const ok: boolean = new InvalidSizeError(-1) instanceof Error;",
    "console.log(JSON.stringify([stats.liveBytes, others.length, store.committedBytes > 0, leaks.blocks, replayed.failure === null, traceStats(trace).ops.total, Object.keys(policies).length, ok" +
      (node ? ", typeof read" : "") + "]));",
    "",
  ].join("\n");
}

/**
 * CommonJS. Under nodenext the main entry is require()d, an ESM package (Node 20.19+ and 22.12+
 * load it; TypeScript allows it from 5.8); under node16 TypeScript refuses that, so every entry
 * is loaded with import().
 */
function cjsSource(requireMain) {
  return [
  requireMain ? 'import { Heap, policies } from "heapkit";' : "",
  "async function main(): Promise<void> {",
  requireMain ? "" : '  const { Heap, policies } = await import("heapkit");',
  '  const debug = await import("heapkit/debug");',
  '  const trace = await import("heapkit/trace");',
  '  const node = await import("heapkit/node");',
  "  const heap = new Heap();",
  "  const p = heap.malloc(24);",
  "  heap.free(p);",
  "  const d = new debug.DebugHeap(); d.free(d.malloc(8));",
  "  console.log(JSON.stringify([heap.stats().liveBytes, Object.keys(policies).length, typeof trace.parseTrace, typeof node.readTraceFile]));",
  "}",
  "void main();",
  "",
  ].join("\n");
}

/** Where neither the DOM lib nor @types/node declares `console`. */
const CONSOLE_DECLARATION = "declare const console: { log(line: string): void };\n";

const CONFIGS = [
  { name: "bundler-dom", module: "preserve", resolution: "bundler", dom: true, node: false, type: "module" },
  { name: "bundler-nodom", module: "preserve", resolution: "bundler", dom: false, node: false, type: "module" },
  { name: "bundler-esnext-dom", module: "preserve", resolution: "bundler", dom: true, esnext: true, node: false, type: "module" },
  { name: "node16-esm-nodom", module: "node16", resolution: "node16", dom: false, node: true, type: "module" },
  { name: "node16-esm-dom", module: "node16", resolution: "node16", dom: true, node: true, type: "module" },
  { name: "node16-cjs-nodom", module: "node16", resolution: "node16", dom: false, node: true, type: "commonjs", run: true },
  { name: "nodenext-esm-nodom", module: "nodenext", resolution: "nodenext", dom: false, node: true, type: "module", run: true },
  { name: "nodenext-esm-dom", module: "nodenext", resolution: "nodenext", dom: true, node: true, type: "module" },
  { name: "nodenext-cjs-nodom", module: "nodenext", resolution: "nodenext", dom: false, node: true, type: "commonjs", run: true },
  { name: "nodenext-cjs-dom", module: "nodenext", resolution: "nodenext", dom: true, node: true, type: "commonjs" },
];

let work;
let tarball;

function makeConsumer(config) {
  const dir = path.join(work, config.name);
  mkdirSync(path.join(dir, "node_modules/heapkit"), { recursive: true });
  execFileSync("tar", ["-xzf", tarball, "-C", path.join(dir, "node_modules/heapkit"), "--strip-components=1"]);
  if (config.node) {
    mkdirSync(path.join(dir, "node_modules/@types"), { recursive: true });
    symlinkSync(TYPES_NODE, path.join(dir, "node_modules/@types/node"), "dir");
  }
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: config.name, private: true, type: config.type }));
  const compilerOptions = {
    strict: true,
    skipLibCheck: false,
    target: "ES2022",
    module: config.module,
    moduleResolution: config.resolution,
    lib: [config.esnext ? "ESNext" : "ES2022", ...(config.dom ? ["DOM"] : [])],
    types: config.node ? ["node"] : [],
    outDir: "out",
    noEmit: !config.run,
  };
  writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions, include: ["src"] }, null, 2));
  mkdirSync(path.join(dir, "src"));
  const source = config.type === "commonjs" ? cjsSource(config.module === "nodenext") : esmSource(config.node);
  writeFileSync(path.join(dir, "src/main.ts"), (config.dom || config.node ? "" : CONSOLE_DECLARATION) + source);
  return dir;
}

function compile(dir) {
  try {
    execFileSync(process.execPath, [TSC, "-p", "tsconfig.json"], { cwd: dir, encoding: "utf8" });
  } catch (error) {
    assert.fail(`tsc failed in ${path.basename(dir)}:\n${error.stdout}${error.stderr}`);
  }
}

describe("the packed package in consumer projects", () => {
  before(() => {
    work = mkdtempSync(path.join(tmpdir(), "heapkit-consumers-"));
    // --ignore-scripts: pack the tree as built (`prepare` would build it again).
    const name = execFileSync("npm", ["pack", "--silent", "--ignore-scripts", "--pack-destination", work], { cwd: REPO_ROOT, encoding: "utf8" }).trim();
    tarball = path.join(work, name);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  for (const config of CONFIGS) {
    it(`compiles under ${config.name}${config.run ? ", and runs" : ""}`, () => {
      const dir = makeConsumer(config);
      compile(dir);
      if (!config.run) return;
      const out = execFileSync(process.execPath, ["out/main.js"], { cwd: dir, encoding: "utf8" });
      const expected = config.type === "commonjs" ? [0, POLICY_COUNT, "function", "function"] : [0, 5, true, 0, true, 2, POLICY_COUNT, true, "function"];
      assert.deepEqual(JSON.parse(out), expected);
    });
  }

  it("installs no runtime dependency and ships no CLI source modules", () => {
    const listing = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).split("\n");
    assert.ok(listing.includes("package/LICENSE"));
    assert.ok(listing.includes("package/dist/cli/heapkit.js"));
    assert.deepEqual(listing.filter((file) => file.startsWith("package/dist/src/cli/")), []);
    const manifest = JSON.parse(execFileSync("tar", ["-xzOf", tarball, "package/package.json"], { encoding: "utf8" }));
    assert.equal(manifest.dependencies, undefined);
  });

  it("runs the heapkit command from the tarball alone (commander and cli-table3 are bundled)", () => {
    const dir = makeConsumer({ name: "cli-only", type: "module" });
    const out = execFileSync(process.execPath, ["node_modules/heapkit/bin/heapkit.js", "policies"], { cwd: dir, encoding: "utf8" });
    assert.match(out, /^heap +yes +general-purpose heap/m);
  });
});
