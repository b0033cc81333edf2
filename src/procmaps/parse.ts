/**
 * Parsers for the kernel's text: /proc/PID/maps (one line per mapping), /proc/PID/smaps (that
 * line, then one "Field: N kB" line per counter) and /proc/PID/smaps_rollup (one header, then
 * the counters summed over every mapping). See proc(5) and Documentation/filesystems/proc.rst.
 *
 *   start-end         perms offset   dev   inode  path
 *   7f6ec22e2000-7f6ec2308000 r--p 00000000 fe:00 339380  /usr/lib/x86_64-linux-gnu/libc.so.6
 *   Size:                152 kB      <- the smaps lines that follow, until the next mapping line
 *   Rss:                 148 kB
 *   ...
 *   VmFlags: rd mr mw me sd
 *
 * Addresses are bigints (the vsyscall page sits at 0xffffffffff600000, above 2^53); sizes and
 * counters are numbers of bytes (kB * 1024). A counter the kernel does not print is absent from
 * `fields`, never 0: older kernels lack some (Pss_Dirty came in 6.0, SwapPss in 4.3).
 */
import { ProcMapsFormatError } from "./errors.js";

export interface Region {
  start: bigint;
  end: bigint;
  /** "r-xp": read, write, execute, then p(rivate, copy on write) or s(hared). */
  perms: string;
  /** Offset into the file (0 for anonymous memory). */
  offset: bigint;
  /** major:minor of the file's device, "00:00" for anonymous memory. */
  device: string;
  inode: number;
  /** A file, a pseudo-path like "[heap]" or "[anon:name]", or "" for anonymous memory. */
  path: string;
  /** end - start: the virtual size. */
  sizeBytes: number;
  /** smaps counters in bytes, by the kernel's name (Rss, Pss, Private_Dirty, Swap, ...). */
  fields: Record<string, number>;
  /** smaps' VmFlags (two-letter codes: rd wr ex sh mr mw me ms gd ...), when printed. */
  vmFlags?: string[];
}

export interface Rollup {
  /** The counters summed over every mapping, in bytes. */
  fields: Record<string, number>;
}

const MAPPING_LINE = /^([0-9a-f]+)-([0-9a-f]+) ([r-][w-][x-][ps]) ([0-9a-f]+) ([0-9a-f]+:[0-9a-f]+) (\d+) *(.*)$/;
const KB_FIELD_LINE = /^([A-Za-z_]+):\s+(\d+) kB$/;
const OTHER_FIELD_LINE = /^([A-Za-z_]+):\s*(.*)$/;

/** Parses /proc/PID/maps text: one region per line, without counters. */
export function parseMaps(text: string, file = "maps"): Region[] {
  return lines(text).map(([line, number]) => mappingLine(line) ?? formatError(file, number, line));
}

/** Parses /proc/PID/smaps text: each mapping line and the counters below it. */
export function parseSmaps(text: string, file = "smaps"): Region[] {
  const regions: Region[] = [];
  for (const [line, number] of lines(text)) {
    const region = mappingLine(line);
    if (region !== undefined) {
      regions.push(region);
      continue;
    }
    const current = regions.at(-1);
    if (current === undefined || !addField(current, line)) formatError(file, number, line);
  }
  return regions;
}

/** Parses /proc/PID/smaps_rollup: its "[rollup]" header, then summed counters. */
export function parseRollup(text: string, file = "smaps_rollup"): Rollup {
  const [header, ...rest] = lines(text);
  if (header === undefined || mappingLine(header[0]) === undefined) formatError(file, 1, header?.[0] ?? "");
  const region = mappingLine(header[0])!;
  for (const [line, number] of rest) if (!addField(region, line)) formatError(file, number, line);
  return { fields: region.fields };
}

function mappingLine(line: string): Region | undefined {
  const m = MAPPING_LINE.exec(line);
  if (m === null) return undefined;
  const start = BigInt(`0x${m[1]}`);
  const end = BigInt(`0x${m[2]}`);
  return {
    start, end, perms: m[3]!, offset: BigInt(`0x${m[4]}`), device: m[5]!, inode: Number(m[6]),
    path: m[7]!.trimEnd(), sizeBytes: Number(end - start), fields: {},
  };
}

/** Adds one smaps line to `region`; false when the line is not a field line. */
function addField(region: Region, line: string): boolean {
  const kb = KB_FIELD_LINE.exec(line);
  if (kb !== null) {
    region.fields[kb[1]!] = Number(kb[2]) * 1024;
    return true;
  }
  const other = OTHER_FIELD_LINE.exec(line);
  if (other === null) return false;
  if (other[1] === "VmFlags") region.vmFlags = other[2]!.trim().split(/\s+/).filter((flag) => flag !== "");
  return true; // THPeligible, ProtectionKey: numbers without a unit, not shown
}

function lines(text: string): [string, number][] {
  return text.split("\n").map((line, i): [string, number] => [line, i + 1]).filter(([line]) => line !== "");
}

function formatError(file: string, line: number, text: string): never {
  throw new ProcMapsFormatError(file, line, text);
}
