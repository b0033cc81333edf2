/**
 * Reads a process's map from /proc: maps, smaps, smaps_rollup, the executable's path and the
 * stack pointers of its threads. A missing process and one the user may not read are typed
 * errors; a file the running kernel does not have becomes a note and a fallback.
 *
 *   /proc/PID/maps          every mapping, no counters        (always there)
 *   /proc/PID/smaps         every mapping with its counters   (CONFIG_PROC_PAGE_MONITOR)
 *   /proc/PID/smaps_rollup  the counters summed               (Linux 4.14 and later)
 *   /proc/PID/exe           link to the program's file        (to tell its text from a library)
 *   /proc/PID/task/TID/syscall  "nr args... sp pc" of a blocked thread: its stack pointer
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { InvalidPidError, NoAddressSpaceError, ProcessAccessError, ProcessNotFoundError } from "./errors.js";
import { parseMaps, parseRollup, parseSmaps, type Region, type Rollup } from "./parse.js";

export interface ReadOptions {
  /** Where the proc filesystem is: a fixture's folder in tests. @defaultValue "/proc" */
  procRoot?: string;
}

export interface ProcessMap {
  pid: number;
  /** The program's file, or null when /proc/PID/exe cannot be read. */
  exe: string | null;
  /** Every mapping, in address order, with counters when `source` is "smaps". */
  regions: Region[];
  source: "smaps" | "maps";
  /** smaps_rollup, or null on a kernel without it. */
  rollup: Rollup | null;
  /** Stack pointers of the threads other than the main one, where the kernel gave them. */
  threadStackPointers: bigint[];
  /** What this kernel or process could not give, in a sentence each. */
  notes: string[];
}

/** Checks a PID given as text or number: a positive integer. */
export function checkPid(pid: unknown): number {
  const n = typeof pid === "string" && /^\d+$/.test(pid.trim()) ? Number(pid) : pid;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n <= 0) throw new InvalidPidError(pid);
  return n;
}

export function readProcessMap(pid: number, options: ReadOptions = {}): ProcessMap {
  const dir = `${options.procRoot ?? "/proc"}/${checkPid(pid)}`;
  const notes: string[] = [];
  const mapsText = readProcFile(pid, `${dir}/maps`)!;
  const smapsText = readProcFile(pid, `${dir}/smaps`, true);
  if (smapsText === undefined) notes.push("smaps is not available on this kernel: sizes only, no Rss, Pss, dirty or swap");
  const regions = smapsText === undefined ? parseMaps(mapsText, `${dir}/maps`) : parseSmaps(smapsText, `${dir}/smaps`);
  const rollup = readRollup(pid, dir, notes);
  const { pointers, running } = threadStackPointers(pid, dir);
  if (running > 0) notes.push(`${running} thread(s) were running, not blocked: their stacks cannot be told from other anonymous memory`);
  return { pid, exe: readExe(dir), regions, source: smapsText === undefined ? "maps" : "smaps", rollup, threadStackPointers: pointers, notes };
}

export interface ProcessTotals {
  /** The sum of every mapping's size: what `ps` calls VSZ. */
  vszBytes: number;
  /** Resident bytes: what `ps` calls RSS. */
  rssBytes: number;
}

/** VSZ and RSS, cheaply: maps and smaps_rollup (smaps where the kernel has no rollup). */
export function readProcessTotals(pid: number, options: ReadOptions = {}): ProcessTotals {
  const dir = `${options.procRoot ?? "/proc"}/${checkPid(pid)}`;
  const regions = parseMaps(readProcFile(pid, `${dir}/maps`)!, `${dir}/maps`);
  const vszBytes = regions.reduce((sum, region) => sum + region.sizeBytes, 0);
  const rollup = readRollup(pid, dir, []);
  if (rollup !== null) return { vszBytes, rssBytes: rollup.fields["Rss"] ?? 0 };
  const smaps = parseSmaps(readProcFile(pid, `${dir}/smaps`)!, `${dir}/smaps`);
  return { vszBytes, rssBytes: smaps.reduce((sum, region) => sum + (region.fields["Rss"] ?? 0), 0) };
}

function readRollup(pid: number, dir: string, notes: string[]): Rollup | null {
  const text = readProcFile(pid, `${dir}/smaps_rollup`, true);
  if (text !== undefined) return parseRollup(text, `${dir}/smaps_rollup`);
  notes.push("smaps_rollup is not available on this kernel (it came in Linux 4.14): totals are summed from smaps");
  return null;
}

/**
 * Reads one file of /proc/PID. A missing /proc/PID is ProcessNotFoundError; EACCES or EPERM a
 * ProcessAccessError; ESRCH (smaps_rollup of a process without memory) a NoAddressSpaceError;
 * a missing file when the folder exists is `undefined` if `optional`.
 */
function readProcFile(pid: number, file: string, optional = false): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    const dir = file.slice(0, file.lastIndexOf("/"));
    if (code === "EACCES" || code === "EPERM") throw new ProcessAccessError(pid, file, code);
    if (!processExists(file)) throw new ProcessNotFoundError(pid, dir);
    if (code === "ESRCH") throw new NoAddressSpaceError(pid, processState(dir) === "Z");
    if (code === "ENOENT" && optional) return undefined;
    throw error;
  }
}

function processExists(file: string): boolean {
  try {
    readdirSync(file.slice(0, file.lastIndexOf("/")));
    return true;
  } catch {
    return false;
  }
}

/** The state letter of /proc/PID/stat ("R", "S", "Z" for a zombie, ...), after the command's ")". */
function processState(dir: string): string | undefined {
  try {
    const stat = readFileSync(`${dir}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return undefined;
  }
}

function readExe(dir: string): string | null {
  try {
    return readlinkSync(`${dir}/exe`).replace(/ \(deleted\)$/, "");
  } catch {
    return null;
  }
}

/** The stack pointer of every blocked thread but the main one (whose stack is "[stack]"). */
function threadStackPointers(pid: number, dir: string): { pointers: bigint[]; running: number } {
  let tids: string[];
  try {
    tids = readdirSync(`${dir}/task`).filter((tid) => tid !== String(pid));
  } catch {
    return { pointers: [], running: 0 };
  }
  const pointers: bigint[] = [];
  let running = 0;
  for (const tid of tids) {
    const sp = stackPointer(`${dir}/task/${tid}/syscall`);
    if (sp === "running") running++;
    else if (sp !== undefined) pointers.push(sp);
  }
  return { pointers, running };
}

/** "nr a1 a2 a3 a4 a5 a6 sp pc", or "-1 sp pc" (blocked, not in a syscall), or "running". */
function stackPointer(file: string): bigint | "running" | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8").trim();
  } catch {
    return undefined; // the thread exited, or the kernel keeps it to ptrace-capable readers
  }
  if (text === "running") return "running";
  const words = text.split(/\s+/);
  const sp = words.at(-2);
  return sp !== undefined && /^0x[0-9a-f]+$/.test(sp) ? BigInt(sp) : undefined;
}
