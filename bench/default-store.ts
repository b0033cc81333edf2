/**
 * The default store of `new Heap()` (decision 1 of ../shared/notes/decisions.md, issue #11's
 * third bullet): the Heap's churn and malloc/free pairs on a fixed ArrayBuffer (the baseline),
 * on the reserved store (a fixed ArrayBuffer of the whole reservation, committed logically: the
 * default), and on a resizable ArrayBuffer with fixed-length views. Each case runs in a process
 * of its own (bench/heap-case.ts), the cases alternating, ROUNDS times. Printed: each kind's
 * median, and the median over rounds of its ratio to the fixed ArrayBuffer of the same round
 * (on a loaded machine the rounds' speeds differ more than the kinds do; a round's cases run
 * back to back, so its ratio is the steadier figure). `create` is `new Heap({ kind })` with the
 * default 1 GiB reservation: a reserved store costs V8 a garbage collection (its external memory
 * grows by the reservation at once).
 *
 *   npm run build && node dist/bench/default-store.js [ROUNDS]
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const KINDS = ["array-buffer", "reserved", "resizable"] as const;
const CASES: Record<string, string[]> = {
  churn: ["churn", "100000", "16", "4096", "2000000", "1"],
  pairs: ["pairs"],
  create: ["create"],
};

function nsPerOp(what: string[], kind: string): number {
  const [name, ...rest] = what;
  const out = execFileSync(process.execPath, [path.join(here, "heap-case.js"), name!, `heap:${kind}`, ...rest], { encoding: "utf8" });
  return (JSON.parse(out) as { nsPerOp: number }).nsPerOp;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

const rounds = Number(process.argv[2] ?? 5);
for (const [label, what] of Object.entries(CASES)) {
  const runs: Record<string, number[]> = Object.fromEntries(KINDS.map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) for (const kind of KINDS) runs[kind]!.push(nsPerOp(what, kind));
  const base = runs["array-buffer"]!;
  for (const kind of KINDS) {
    const ratio = median(runs[kind]!.map((ns, r) => ns / base[r]!));
    console.log(`${label.padEnd(6)} ${kind.padEnd(13)} median ${median(runs[kind]!).toFixed(1)} ns/op  ${ratio.toFixed(2)}x the fixed ArrayBuffer (median of rounds)  (runs: ${runs[kind]!.map((x) => x.toFixed(0)).join(" ")})`);
  }
}
