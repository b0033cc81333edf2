/**
 * What checking costs: the plain Heap against HardenedHeap and DebugHeap over it, replaying each
 * shared trace (the bare malloc/realloc/free calls, nothing else timed). In each round every
 * mode takes one sample (the trace replayed on fresh allocators until 200 ms have passed), the
 * modes back to back (in an order rotated each round) so that the load of a shared machine hits
 * them alike; a mode's ratio is
 * the median over the rounds of its sample divided by the plain heap's in the same round.
 *
 *   node --expose-gc dist/bench/debug.js [--runs N] [--stacks] [--touch] [--same-process] [trace ...]
 *
 * Each sample runs in a fresh Node process (a program uses one allocator; in one process the
 * modes share the Heap's JIT feedback and slow each other); --same-process runs them all here.
 *
 * --touch writes the first byte of every block malloc/realloc returns, as a program would: the
 * bare calls alone never touch a fresh slab slot, so there the hardened header's write is the
 * first touch of the block and pays a cache miss the program would have paid anyway.
 *
 * Targets (issue 4): hardened within 1.3x of the plain heap; debug "a few times" (ASan is ~2x).
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Allocator, SpanVisitor } from "../src/allocator.js";
import { DebugHeap } from "../src/debug/debug-heap.js";
import { HardenedHeap } from "../src/debug/hardened-heap.js";
import { Heap } from "../src/heap/heap.js";
import { readTraceFile } from "../src/trace/reader.js";
import { OP_ALLOC, OP_REALLOC, type Trace } from "../src/trace/trace.js";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TRACES_DIR = path.resolve(REPO_ROOT, "../shared/traces");
const ALL_TRACES = ["git-log-p", "perl-wordfreq", "python-json-regex", "sqlite3-workload"];

interface Mode {
  name: string;
  create: () => Allocator;
}

/**
 * A reference, not a mode: the heap asked for 8 more bytes per block and nothing else, to show how
 * much of the hardened cost is the header's footprint (more memory, other size classes).
 */
class PlusEightBytes implements Allocator {
  readonly name = "heap+8";
  readonly store;
  constructor(private readonly inner: Heap) {
    this.store = inner.store;
  }
  malloc(size: number): number {
    const base = this.inner.malloc(size + 8);
    return base === 0 ? 0 : base + 8;
  }
  free(ptr: number): void {
    if (ptr !== 0) this.inner.free(ptr - 8);
  }
  realloc(ptr: number, size: number): number {
    if (ptr === 0) return this.malloc(size);
    const base = this.inner.realloc(ptr - 8, size + 8);
    return base === 0 ? 0 : base + 8;
  }
  usableSize(ptr: number): number { return this.inner.usableSize(ptr - 8) - 8; }
  stats() { return this.inner.stats(); }
  check(): void { this.inner.check(); }
  walk(start?: number, end?: number) { return this.inner.walk(start, end); }
  walkInto(visit: SpanVisitor, start?: number, end?: number) { return this.inner.walkInto(visit, start, end); }
}

const MODES: Mode[] = [
  { name: "heap", create: () => new Heap() },
  { name: "heap + 8 bytes/block, no checks (reference)", create: () => new PlusEightBytes(new Heap()) },
  { name: "hardened", create: () => new HardenedHeap(new Heap()) },
  { name: "hardened + 1 MiB delayed reuse", create: () => new HardenedHeap(new Heap(), { quarantineBytes: 1 << 20 }) },
  { name: "debug", create: () => new DebugHeap(new Heap()) },
  { name: "debug, no quarantine", create: () => new DebugHeap(new Heap(), { quarantineBytes: 0 }) },
  { name: "debug, 4 MiB quarantine, whole blocks", create: () => new DebugHeap(new Heap(), { quarantineBytes: 4 << 20, maxFillBytes: Infinity }) },
];
const STACKS_MODE: Mode = { name: "debug + stacks", create: () => new DebugHeap(new Heap(), { captureStacks: true }) };

/**
 * The bare calls of the trace on `allocator`, in milliseconds of CPU time (the process's, so
 * that time slices lost to other processes on a shared machine do not count; garbage collection
 * on helper threads does, as it is work the mode caused). Each mode gets its own copy of
 * this loop (compiled from the same text), so that its call sites see one allocator class, as
 * they would in a program, instead of going polymorphic across the modes being compared.
 */
const replayLoop = (touch: boolean) => `
  const { kinds, ids, sizes, opCount } = trace;
  const ptrs = new Uint32Array(trace.idCount);
  const start = process.cpuUsage();
  for (let op = 0; op < opCount; op++) {
    const id = ids[op];
    const kind = kinds[op];
    if (kind === ${OP_ALLOC}) ptrs[id] = allocator.malloc(sizes[op]);
    else if (kind === ${OP_REALLOC}) ptrs[id] = allocator.realloc(ptrs[id], sizes[op]);
    else { allocator.free(ptrs[id]); continue; }
    ${touch ? "allocator.store.u8[ptrs[id]] = 1;" : ""}
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
`;

type Replay = (trace: Trace, allocator: Allocator) => number;

/** A replay loop of its own; with `touch`, it writes the first byte of every block it gets, as a program would. */
export function compileReplay(touch = false): Replay {
  return new Function("trace", "allocator", replayLoop(touch)) as Replay;
}

/** A sample: the trace replayed on fresh allocators until MIN_SAMPLE_MS have passed; ms per replay. */
const MIN_SAMPLE_MS = 200;

function sampleMs(trace: Trace, mode: Mode, replay: Replay): number {
  let total = 0;
  let count = 0;
  do {
    const allocator = mode.create();
    gc?.();
    total += replay(trace, allocator);
    count++;
  } while (total < MIN_SAMPLE_MS);
  return total / count;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** One sample of one mode, in this process: the child side of an isolated run. */
async function child(modeIndex: number, name: string, touch: boolean, stacks: boolean): Promise<void> {
  const modes = stacks ? [...MODES, STACKS_MODE] : MODES;
  const mode = modes[modeIndex]!;
  const trace = await readTraceFile(path.join(TRACES_DIR, `${name}.rep.gz`));
  const replay = compileReplay(touch);
  sampleMs(trace, mode, replay); // warm-up: let the JIT settle on this mode
  process.stdout.write(JSON.stringify(sampleMs(trace, mode, replay)));
}

/**
 * One sample, by default in a fresh Node process of its own: a program uses one allocator, and
 * running the modes in one process lets each bend the others' JIT feedback (the Heap's code is
 * shared by all of them), which we measured to inflate the wrappers' ratios.
 */
function isolatedSampleMs(modeIndex: number, name: string, touch: boolean, stacks: boolean): number {
  const args = [...process.execArgv, fileURLToPath(import.meta.url), "--child", String(modeIndex), name];
  if (touch) args.push("--touch");
  if (stacks) args.push("--stacks");
  const result = spawnSync(process.execPath, args, { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`bench child failed: ${result.stderr}`);
  return Number(result.stdout);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let runs = 5;
  let stacks = false;
  let touch = false;
  let sameProcess = false;
  let childMode = -1;
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--runs") runs = Number(args[++i]);
    else if (args[i] === "--stacks") stacks = true;
    else if (args[i] === "--touch") touch = true;
    else if (args[i] === "--same-process") sameProcess = true;
    else if (args[i] === "--child") childMode = Number(args[++i]);
    else names.push(args[i]!);
  }
  if (childMode >= 0) return child(childMode, names[0]!, touch, stacks);
  if (!(Number.isInteger(runs) && runs >= 1)) throw new Error("--runs takes a positive integer");
  const modes = stacks ? [...MODES, STACKS_MODE] : MODES;
  const what = touch ? "the calls, each new block's first byte written" : "the bare calls";
  const where = sameProcess ? "all modes in one process" : "each sample in a fresh process";
  console.log(`Node ${process.version}, ${runs} rounds per trace, ${where}, median CPU ms per replay of ${what} (median of the per-round ratios to the plain heap)${gc ? "" : "; run with --expose-gc for steadier numbers"}\n`);
  console.log(`| trace | ops | ${modes.map((m) => m.name).join(" | ")} |`);
  console.log(`| --- | ---: | ${modes.map(() => "---:").join(" | ")} |`);
  const ratios = new Map<string, number[]>();
  for (const name of names.length > 0 ? names : ALL_TRACES) {
    const trace = await readTraceFile(path.join(TRACES_DIR, `${name}.rep.gz`));
    const times = modes.map(() => [] as number[]);
    const replays = modes.map(() => compileReplay(touch));
    if (sameProcess) for (const [m, mode] of modes.entries()) replays[m]!(trace, mode.create()); // warm-up
    for (let round = 0; round < runs; round++) {
      // Rotate the order each round, so that no mode always runs first (or right after another).
      for (let k = 0; k < modes.length; k++) {
        const m = (k + round) % modes.length;
        times[m]!.push(sameProcess ? sampleMs(trace, modes[m]!, replays[m]!) : isolatedSampleMs(m, name, touch, stacks));
      }
      process.stderr.write(`  ${name}: round ${round + 1}/${runs}\n`);
    }
    const medians = times.map(median);
    const cells = medians.map((ms, m) => {
      if (m === 0) return `${ms.toFixed(1)}`;
      // The ratio is the median of the per-round ratios: a round's modes ran back to back, under the same load.
      const r = median(times[m]!.map((t, round) => t / times[0]![round]!));
      const list = ratios.get(modes[m]!.name) ?? [];
      list.push(r);
      ratios.set(modes[m]!.name, list);
      return `${ms.toFixed(1)} (${r.toFixed(2)}x)`;
    });
    console.log(`| ${name} | ${trace.opCount.toLocaleString("en-US")} | ${cells.join(" | ")} |`);
  }
  console.log("");
  for (const [mode, list] of ratios) {
    const geo = Math.exp(list.reduce((s, r) => s + Math.log(r), 0) / list.length);
    console.log(`${mode}: geometric mean ${geo.toFixed(2)}x the plain heap`);
  }
}

await main();
