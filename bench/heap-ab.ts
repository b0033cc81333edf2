/**
 * Two builds of heapkit, A/B on the same workloads in the same processes: the Heap's malloc/free
 * pairs (32 B) and its churn (100,000 live blocks of 16..4096 B, random free + malloc), on the
 * default store, interleaved round by round, so a loaded machine slows both alike. Each build
 * gets loops of its own (made by `new Function`, so the two share no type feedback), and the
 * processes alternate which build is loaded first. Prints, per workload, the median over the
 * processes of each process's median per-round ratio B / A (above 1: B is slower).
 *
 *   node dist/bench/heap-ab.js A_DIST B_DIST [processes=6] [rounds=30]
 *
 * A_DIST and B_DIST are `dist` folders of two checkouts (built with `npm run build`), e.g. main's
 * and a branch's; run it with A_DIST = B_DIST to see the noise floor of the machine.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

type Run = () => number;
interface HeapLike {
  malloc(size: number): number;
  free(ptr: number): void;
}
type HeapCtor = new () => HeapLike;
type Workload = "pairs" | "churn";

const PAIRS = 300_000;
const CHURN_LIVE = 100_000;
const CHURN_OPS = 400_000;

/** The timed loop of one workload for one build, compiled apart from the other build's, and its heap. */
function loopFor(Heap: HeapCtor, workload: Workload): Run {
  const heap = new Heap();
  if (workload === "pairs") {
    const loop = new Function("a", "n", "for (let i = 0; i < n; i++) a.free(a.malloc(32));") as (a: HeapLike, n: number) => void;
    return () => nsPerOp(() => loop(heap, PAIRS), PAIRS);
  }
  const loop = new Function("a", "ptrs", "victims", "sizes", "n", "k", `
    for (let i = 0; i < n; i += 2, k++) {
      const v = victims[k & 0xffff];
      a.free(ptrs[v]);
      ptrs[v] = a.malloc(sizes[(k * 7) & 0xffff]);
    }
    return k;`) as (a: HeapLike, ptrs: Uint32Array, victims: Uint32Array, sizes: Uint32Array, n: number, k: number) => number;
  let seed = 7;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const sizes = Uint32Array.from({ length: 1 << 16 }, () => 16 + Math.floor(random() * 4081));
  const victims = Uint32Array.from({ length: 1 << 16 }, () => Math.floor(random() * CHURN_LIVE));
  const ptrs = Uint32Array.from({ length: CHURN_LIVE }, (_, i) => heap.malloc(sizes[i & 0xffff]!));
  let k = 0;
  return () => nsPerOp(() => {
    k = loop(heap, ptrs, victims, sizes, CHURN_OPS, k);
  }, CHURN_OPS);
}

function nsPerOp(run: () => void, ops: number): number {
  const t = performance.now();
  run();
  return ((performance.now() - t) * 1e6) / ops;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

/** In a child process: the median per-round ratio second / first, per workload, as JSON. */
async function child(first: string, second: string, rounds: number): Promise<void> {
  const load = async (dist: string) => ((await import(pathToFileURL(path.join(dist, "src/heap/heap.js")).href)) as { Heap: HeapCtor }).Heap;
  const [A, B] = [await load(first), await load(second)];
  const out: Record<string, number> = {};
  for (const name of ["pairs", "churn"] as const) {
    const a = loopFor(A, name);
    const b = loopFor(B, name);
    for (let w = 0; w < 3; w++) {
      a();
      b();
    }
    const ratios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      if (r % 2 === 0) {
        const x = a();
        ratios.push(b() / x);
      } else {
        const y = b();
        ratios.push(y / a());
      }
    }
    out[name] = median(ratios);
  }
  console.log(JSON.stringify(out));
}

function main(): void {
  const [aDist, bDist, processesArg, roundsArg] = process.argv.slice(2);
  if (aDist === undefined || bDist === undefined) throw new Error("usage: node dist/bench/heap-ab.js A_DIST B_DIST [processes] [rounds]");
  const processes = Number(processesArg ?? 6);
  const rounds = Number(roundsArg ?? 30);
  const self = fileURLToPath(import.meta.url);
  const ratios: Record<string, number[]> = { pairs: [], churn: [] };
  for (let i = 0; i < processes; i++) {
    const aFirst = i % 2 === 0;
    const args = [self, "--child", path.resolve(aFirst ? aDist : bDist), path.resolve(aFirst ? bDist : aDist), String(rounds)];
    const result = JSON.parse(execFileSync(process.execPath, args, { encoding: "utf8" })) as Record<string, number>;
    for (const name of Object.keys(ratios)) ratios[name]!.push(aFirst ? result[name]! : 1 / result[name]!);
    console.log(`process ${i + 1} (${aFirst ? "A" : "B"} loaded first): ${Object.keys(ratios).map((n) => `${n} ${ratios[n]!.at(-1)!.toFixed(3)}`).join(", ")}`);
  }
  for (const [name, xs] of Object.entries(ratios)) console.log(`${name}: B / A = ${median(xs).toFixed(3)} (median of ${xs.length} processes, ${Math.min(...xs).toFixed(3)} to ${Math.max(...xs).toFixed(3)})`);
}

if (process.argv[2] === "--child") await child(process.argv[3]!, process.argv[4]!, Number(process.argv[5]));
else main();
