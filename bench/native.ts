/**
 * Native baselines: bench/native/churn.c (the churn benchmarks) and bench/native/replay.c (trace
 * replay, bench/replay-native.ts) compiled with the system's C compiler and run under the C
 * library's malloc, then under each of jemalloc, mimalloc and tcmalloc whose shared library is
 * installed (LD_PRELOAD). Without a compiler the benchmarks say so and go on without them
 * (`apt-get install gcc libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4` brings them).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const NATIVE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bench/native");
const LIBRARIES: readonly [string, string][] = [
  ["jemalloc", "libjemalloc.so.2"],
  ["mimalloc", "libmimalloc.so.2"],
  ["tcmalloc", "libtcmalloc_minimal.so.4"],
];
const LIBRARY_DIRS = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"];

export interface NativeAllocator {
  name: string;
  /** Runs the churn (writing each block got and reading it before its free, with `touch`); returns the median ns per malloc or free. */
  churn(live: number, minBytes: number, maxBytes: number, ops: number, seed: number, touch?: boolean): number;
}

export interface NativeReplayer {
  name: string;
  /** ns per op of one replay of a decompressed trace file, in a fresh process. */
  time(file: string): number;
  /**
   * glibc only: peak live bytes and the high-water of mallinfo2's arena + hblkhd (decision 11);
   * `everyOp` calls mallinfo2 after every op instead of after the ops that can change it;
   * `oneHeap` raises glibc's mmap threshold to its most (GLIBC_TUNABLES, 32 MiB), so that every
   * block up to that lives in its one heap, as every block of a heapkit Heap lives in its store.
   */
  utilization?(file: string, options?: { everyOp?: boolean; oneHeap?: boolean }): { peakLiveBytes: number; peakFootprintBytes: number };
}

const compiled = new Map<string, string | null>();
/** The largest mmap threshold glibc takes on 64-bit (HEAP_MAX_SIZE / 2, malloc/arena.c). */
const GLIBC_MAX_MMAP_THRESHOLD = 32 * 1024 * 1024;

/** bench/native/NAME.c, compiled once per run; null when there is no C compiler. */
function binary(name: string): string | null {
  if (compiled.has(name)) return compiled.get(name)!;
  const out = path.join(mkdtempSync(path.join(tmpdir(), "heapkit-bench-")), name);
  const cc = spawnSync("cc", ["-O2", "-o", out, path.join(NATIVE_DIR, `${name}.c`)], { encoding: "utf8" });
  compiled.set(name, cc.status === 0 ? out : null);
  return compiled.get(name)!;
}

/** The installed native allocators' libraries, by name, for LD_PRELOAD. */
function preloads(): [string, string][] {
  const found: [string, string][] = [];
  for (const [name, file] of LIBRARIES) {
    const lib = LIBRARY_DIRS.map((dir) => path.join(dir, file)).find((p) => existsSync(p));
    if (lib !== undefined) found.push([name, lib]);
  }
  return found;
}

function withPreload(preload: string | undefined): NodeJS.ProcessEnv {
  return preload === undefined ? process.env : { ...process.env, LD_PRELOAD: preload };
}

/** The trace replay driver under glibc (with utilization) and every installed native allocator, or []. */
export function nativeReplayers(): NativeReplayer[] {
  const bin = binary("replay");
  if (bin === null) return [];
  const time = (preload: string | undefined) => (file: string) => Number(execFileSync(bin, ["time", file], { env: withPreload(preload), encoding: "utf8" }));
  const utilization = (file: string, { everyOp = false, oneHeap = false } = {}) => {
    const mode = everyOp ? "util-every-op" : "util";
    const env = oneHeap ? { ...process.env, GLIBC_TUNABLES: `glibc.malloc.mmap_threshold=${GLIBC_MAX_MMAP_THRESHOLD}` } : process.env;
    const [peakLiveBytes, peakFootprintBytes] = execFileSync(bin, [mode, file], { env, encoding: "utf8" }).trim().split(" ").map(Number) as [number, number];
    return { peakLiveBytes, peakFootprintBytes };
  };
  return [{ name: "glibc", time: time(undefined), utilization }, ...preloads().map(([name, lib]) => ({ name, time: time(lib) }))];
}

/** The C library's malloc and every installed native allocator, or [] without a compiler. */
export function nativeAllocators(): NativeAllocator[] {
  const bin = binary("churn");
  if (bin === null) return [];
  const run = (preload: string | undefined) => (live: number, minBytes: number, maxBytes: number, ops: number, seed: number, touch = false) =>
    Number(execFileSync(bin, [live, minBytes, maxBytes, ops, seed, 5, touch ? 1 : 0].map(String), { env: withPreload(preload), encoding: "utf8" }));
  return [{ name: "C library malloc (glibc)", churn: run(undefined) }, ...preloads().map(([name, lib]) => ({ name: `${name} (native)`, churn: run(lib) }))];
}
