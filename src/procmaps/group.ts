/**
 * Sorts a process's mappings into the parts of a program's memory, as a textbook draws them
 * from the bottom up:
 *
 *   group         what it is                              how it is recognised
 *   ------------  --------------------------------------  ------------------------------------------
 *   text          the program's machine code              the program's file, executable
 *   rodata        its constants, relocation tables        the program's file, read-only
 *   data          initialised globals, then bss (zeroed)  the program's file, writable; and the
 *                                                         anonymous mapping that starts where it ends
 *   heap          the brk heap (malloc's main arena)      "[heap]"
 *   anon          mmap'd memory: malloc arenas, JS heap,  anonymous, not a stack
 *                 ArrayBuffers, WASM memories
 *   file          mmap'd files, shared memory, memfds     a file that is neither the program nor a library
 *   lib           shared libraries and their bss          a ".so" file (and the anonymous mapping after it)
 *   thread-stack  the stacks of threads but the main one  holds a thread's stack pointer (or is the
 *                                                         guard page right below one that does)
 *   stack         the main thread's stack                 "[stack]"
 *   kernel        pages the kernel maps in                "[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]"
 */
import type { ProcessMap } from "./read.js";
import type { Region } from "./parse.js";

export const GROUPS = [
  { name: "text", label: "program text" },
  { name: "rodata", label: "read-only data" },
  { name: "data", label: "data and bss" },
  { name: "heap", label: "brk heap" },
  { name: "anon", label: "anonymous mmaps" },
  { name: "file", label: "file mappings" },
  { name: "lib", label: "shared libraries" },
  { name: "thread-stack", label: "thread stacks" },
  { name: "stack", label: "main stack" },
  { name: "kernel", label: "vdso/vvar" },
] as const;

export type GroupName = (typeof GROUPS)[number]["name"];

/** The counters a map shows per region, by smaps name. */
export const COUNTERS = ["Rss", "Pss", "Private_Dirty", "Swap"] as const;
export type Counter = (typeof COUNTERS)[number];

export interface Totals {
  regions: number;
  /** Virtual size: the sum of sizes (VSZ for the whole process). */
  sizeBytes: number;
  /** Each counter summed, or null where the kernel printed it for no region. */
  counters: Record<Counter, number | null>;
}

export interface RegionGroup {
  name: GroupName;
  label: string;
  regions: Region[];
  totals: Totals;
}

const KERNEL_PATHS = new Set(["[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]"]);
const LIBRARY_PATH = /\.so(\.[0-9]+)*( \(deleted\))?$|\/ld-linux[^/]*$/;

/** The group of every region, in address order. */
export function classifyRegions(map: ProcessMap): GroupName[] {
  const exe = map.exe ?? firstFile(map.regions);
  const stacks = threadStackRegions(map.regions, map.threadStackPointers);
  const groups: GroupName[] = [];
  map.regions.forEach((region, i) => {
    const previous = map.regions[i - 1];
    const bssOf = previous !== undefined && isBssAfter(region, previous) ? groups[i - 1] : undefined;
    groups.push(stacks.has(i) ? "thread-stack" : classify(region, exe, bssOf));
  });
  return groups;
}

function classify(region: Region, exe: string | null, bssOf: GroupName | undefined): GroupName {
  const path = region.path;
  if (path === "[heap]") return "heap";
  if (path === "[stack]") return "stack";
  if (KERNEL_PATHS.has(path)) return "kernel";
  if (bssOf === "data" || bssOf === "lib") return bssOf;
  if (!isFile(region)) return "anon";
  if (path === exe) return region.perms[2] === "x" ? "text" : region.perms[1] === "w" ? "data" : "rodata";
  return LIBRARY_PATH.test(path) ? "lib" : "file";
}

/** The ELF loader maps bss as anonymous memory starting exactly where the file's data ends. */
function isBssAfter(region: Region, previous: Region): boolean {
  return region.path === "" && region.start === previous.end && region.perms === "rw-p" && previous.perms === "rw-p" && isFile(previous);
}

function isFile(region: Region): boolean {
  return region.inode !== 0 && region.path.startsWith("/");
}

function firstFile(regions: Region[]): string | null {
  return regions.find(isFile)?.path ?? null;
}

/** Indexes of the regions holding a thread's stack pointer, and of the guard page below each. */
function threadStackRegions(regions: Region[], pointers: bigint[]): Set<number> {
  const found = new Set<number>();
  for (const sp of pointers) {
    const i = regions.findIndex((region) => region.start <= sp && sp < region.end);
    if (i < 0 || regions[i]!.path !== "") continue;
    found.add(i);
    const below = regions[i - 1];
    if (below !== undefined && below.end === regions[i]!.start && below.perms === "---p" && below.path === "") found.add(i - 1);
  }
  return found;
}

/** The regions by group, in the order of GROUPS, leaving out empty groups. */
export function groupRegions(map: ProcessMap): RegionGroup[] {
  const names = classifyRegions(map);
  return GROUPS.map(({ name, label }) => {
    const regions = map.regions.filter((_, i) => names[i] === name);
    return { name, label, regions, totals: totalsOf(regions) };
  }).filter((group) => group.regions.length > 0);
}

export function totalsOf(regions: Region[]): Totals {
  const counters = Object.fromEntries(COUNTERS.map((counter) => {
    const known = regions.filter((region) => region.fields[counter] !== undefined);
    return [counter, known.length === 0 ? null : known.reduce((sum, region) => sum + region.fields[counter]!, 0)];
  })) as Record<Counter, number | null>;
  return { regions: regions.length, sizeBytes: regions.reduce((sum, region) => sum + region.sizeBytes, 0), counters };
}

/** Counters no region of the map has: the running kernel does not print them. */
export function missingCounters(map: ProcessMap): Counter[] {
  const totals = totalsOf(map.regions);
  return map.regions.length === 0 ? [] : COUNTERS.filter((counter) => totals.counters[counter] === null);
}
