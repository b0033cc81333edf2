/**
 * Native baselines for the churn benchmarks: bench/native/churn.c compiled with the system's C
 * compiler and run under the C library's malloc, then under each of jemalloc, mimalloc and
 * tcmalloc whose shared library is installed (LD_PRELOAD). Without a compiler the benchmarks
 * say so and go on without them (`apt-get install gcc libjemalloc2 libmimalloc2.0
 * libtcmalloc-minimal4` brings them).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const SOURCE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bench/native/churn.c");
const LIBRARIES: readonly [string, string][] = [
  ["jemalloc", "libjemalloc.so.2"],
  ["mimalloc", "libmimalloc.so.2"],
  ["tcmalloc", "libtcmalloc_minimal.so.4"],
];
const LIBRARY_DIRS = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"];

export interface NativeAllocator {
  name: string;
  /** Runs the churn; returns the median ns per malloc or free. */
  churn(live: number, minBytes: number, maxBytes: number, ops: number, seed: number): number;
}

let compiled: string | null | undefined;

/** The churn binary, compiled once per run; null when there is no C compiler. */
function binary(): string | null {
  if (compiled !== undefined) return compiled;
  const out = path.join(mkdtempSync(path.join(tmpdir(), "heapkit-bench-")), "churn");
  const cc = spawnSync("cc", ["-O2", "-o", out, SOURCE], { encoding: "utf8" });
  compiled = cc.status === 0 ? out : null;
  return compiled;
}

/** The C library's malloc and every installed native allocator, or [] without a compiler. */
export function nativeAllocators(): NativeAllocator[] {
  const bin = binary();
  if (bin === null) return [];
  const run = (preload: string | undefined) => (live: number, minBytes: number, maxBytes: number, ops: number, seed: number) => {
    const env = preload === undefined ? process.env : { ...process.env, LD_PRELOAD: preload };
    return Number(execFileSync(bin, [live, minBytes, maxBytes, ops, seed, 5].map(String), { env, encoding: "utf8" }));
  };
  const found: NativeAllocator[] = [{ name: "C library malloc (glibc)", churn: run(undefined) }];
  for (const [name, file] of LIBRARIES) {
    const lib = LIBRARY_DIRS.map((dir) => path.join(dir, file)).find((p) => existsSync(p));
    if (lib !== undefined) found.push({ name: `${name} (native)`, churn: run(lib) });
  }
  return found;
}
