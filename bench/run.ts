/**
 * `npm run bench [-- NAME...]`: runs the benchmark groups (all by default) and prints them as
 * markdown, ready for the README. Progress goes to stderr. Groups that are scripts of their own
 * run in a child process each, so no group's JIT state or garbage skews another's.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as gc from "./gc.js";
import { printSection, type Section } from "./harness.js";
import * as heap from "./heap.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const inProcess: Record<string, (() => Section)[]> = { heap: heap.sections, gc: gc.sections };
const scripts: Record<string, { file: string; title: string }> = {
  "pool-arena": { file: "pool-arena.js", title: "Pool and Arena: 1e6 fixed-size 48-byte objects" },
  trace: { file: "trace.js", title: "Trace reading vs replay, and `heapkit compare` wall time" },
  debug: { file: "debug.js", title: "Debug and hardened modes vs the plain Heap on the traces" },
  "replay-native": { file: "replay-native.js", title: "Every trace (shared and corpus) under the Heap and under native allocators" },
  "store-kinds": { file: "store-kinds.js", title: "What each byte store costs: typed-array access, the Heap's churn, RSS" },
  "shared-heap": { file: "shared-heap.js", title: "SharedHeap vs one global lock over the Heap, in Workers" },
};
const names = [...Object.keys(inProcess), ...Object.keys(scripts)];

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !names.includes(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(", ")}: choose from ${names.join(", ")}`);
  process.exit(2);
}
console.log(`Node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`);
for (const name of wanted.length > 0 ? wanted : names) {
  const sections = inProcess[name];
  if (sections) {
    for (const section of sections) printSection(section());
    continue;
  }
  const { file, title } = scripts[name]!;
  console.log(`### ${title}\n`);
  execFileSync(process.execPath, ["--expose-gc", path.join(here, file)], { stdio: "inherit" });
  console.log();
}
