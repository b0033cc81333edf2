/**
 * The map as text (fits 100 columns) and as JSON. Text: one header line per group with its
 * totals, then its regions; a total line with VSZ and RSS; then notes on what the kernel lacks.
 *
 *   region                     perms     size      Rss      Pss  P.Dirty     Swap  name
 *   anonymous mmaps: 41 regions        1.52G    41.2M    41.2M    41.2M        0
 *   7fe71c000000-7fe720000000  rw-p    64.0M    64.0M    64.0M    64.0M        0
 */
import { COUNTERS, groupRegions, missingCounters, totalsOf, type Counter, type RegionGroup, type Totals } from "./group.js";
import type { Region, Rollup } from "./parse.js";
import type { ProcessMap } from "./read.js";

export const LINE_WIDTH = 100;
const NUMBER_WIDTH = 8;
/** A user-space range of 48-bit addresses: 12 + 1 + 12 characters. */
const RANGE_WIDTH = 25;

const COUNTER_HEADS: Record<Counter, string> = { Rss: "Rss", Pss: "Pss", Private_Dirty: "P.Dirty", Swap: "Swap" };
const COUNTER_KEYS: Record<Counter, string> = { Rss: "rssBytes", Pss: "pssBytes", Private_Dirty: "privateDirtyBytes", Swap: "swapBytes" };

/** 0 -> "0", 132 KiB -> "132K", 64 MiB -> "64.0M", 1 GiB -> "1.00G"; null (not known) -> "-". */
export function shortBytes(bytes: number | null): string {
  if (bytes === null) return "-";
  if (bytes === 0) return "0";
  if (bytes < 2 ** 20) return `${Math.round(bytes / 1024)}K`;
  if (bytes < 2 ** 30) return `${(bytes / 2 ** 20).toFixed(1)}M`;
  return `${(bytes / 2 ** 30).toFixed(2)}G`;
}

export function hex(address: bigint): string {
  return address.toString(16).padStart(8, "0");
}

export function rangeText(region: Region): string {
  return `${hex(region.start)}-${hex(region.end)}`;
}

/** The short name of a region: a file's base name, a pseudo-path as it is, "" for anonymous. */
export function regionName(region: Region): string {
  return region.path.startsWith("/") ? region.path.slice(region.path.lastIndexOf("/") + 1) : region.path;
}

export function headLine(): string {
  return tableLine(rangeAndPerms("region", "perms"), ["size", ...COUNTERS.map((c) => COUNTER_HEADS[c])], "name");
}

export function regionLine(region: Region): string {
  const counters = COUNTERS.map((c) => shortBytes(region.fields[c] ?? null));
  return tableLine(rangeAndPerms(rangeText(region), region.perms), [shortBytes(region.sizeBytes), ...counters], regionName(region));
}

export function totalsLine(label: string, totals: Totals): string {
  return tableLine(label.padEnd(RANGE_WIDTH + 6), [shortBytes(totals.sizeBytes), ...COUNTERS.map((c) => shortBytes(totals.counters[c]))], "");
}

function rangeAndPerms(range: string, perms: string): string {
  return `${range.padEnd(RANGE_WIDTH)}  ${perms.padEnd(4)}`;
}

/** One line of the table; a wider range (the vsyscall page's) shifts its own line right. */
function tableLine(left: string, numbers: string[], name: string): string {
  const text = `${left}${numbers.map((n) => n.padStart(NUMBER_WIDTH + 1)).join("")}  ${name}`.trimEnd();
  return text.length <= LINE_WIDTH ? text : `${text.slice(0, LINE_WIDTH - 1)}~`;
}

export function mapText(map: ProcessMap): string {
  const out = [`process ${map.pid}${map.exe === null ? "" : ` (${map.exe})`}: ${map.regions.length} mappings, from ${map.source}`, headLine()];
  for (const group of groupRegions(map)) {
    out.push(totalsLine(`${group.label}: ${plural(group.regions.length, "region")}`, group.totals));
    for (const region of group.regions) out.push(regionLine(region));
  }
  out.push(totalLine(totalsOf(map.regions)));
  if (map.rollup !== null) out.push(rollupLine(map.rollup));
  out.push(...notes(map).map((note) => `note: ${note}`));
  return `${out.join("\n")}\n`;
}

function totalLine(totals: Totals): string {
  const rss = totals.counters.Rss;
  return `total: VSZ ${shortBytes(totals.sizeBytes)} (${totals.sizeBytes} B) reserved, RSS ${shortBytes(rss)}${rss === null ? "" : ` (${rss} B)`} resident`;
}

/** The smaps_rollup counters the text shows: the whole process's, with Pss split by kind. */
const ROLLUP_FIELDS = ["Rss", "Pss", "Pss_Anon", "Pss_File", "Pss_Shmem", "Private_Dirty", "Swap"] as const;

function rollupLine(rollup: Rollup): string {
  const show = (field: string, name = field): string[] => (rollup.fields[field] === undefined ? [] : [`${name} ${shortBytes(rollup.fields[field]!)}`]);
  const pssKinds = [...show("Pss_Anon", "anon"), ...show("Pss_File", "file"), ...show("Pss_Shmem", "shmem")];
  const pss = show("Pss").map((text) => (pssKinds.length === 0 ? text : `${text} (${pssKinds.join(", ")})`));
  return `smaps_rollup: ${[...show("Rss"), ...pss, ...show("Private_Dirty"), ...show("Swap")].join(", ")}`;
}

/** What the kernel did not print, then what the reader noted. */
export function notes(map: ProcessMap): string[] {
  const missing = map.source === "smaps" ? missingCounters(map) : [];
  const rollupMissing = map.rollup === null ? [] : ROLLUP_FIELDS.filter((field) => map.rollup!.fields[field] === undefined);
  return [
    ...missing.map((counter) => `${counter} is not printed by this kernel: shown as "-"`),
    ...(rollupMissing.length === 0 ? [] : [`smaps_rollup on this kernel has no ${rollupMissing.join(", ")}`]),
    ...map.notes,
  ];
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export function regionJson(region: Region): Record<string, unknown> {
  return {
    start: `0x${hex(region.start)}`, end: `0x${hex(region.end)}`, perms: region.perms, offset: Number(region.offset),
    device: region.device, inode: region.inode, path: region.path, sizeBytes: region.sizeBytes,
    ...countersJson(Object.fromEntries(COUNTERS.map((c) => [c, region.fields[c] ?? null])) as Record<Counter, number | null>),
  };
}

function countersJson(counters: Record<Counter, number | null>): Record<string, number | null> {
  return Object.fromEntries(COUNTERS.map((c) => [COUNTER_KEYS[c], counters[c]]));
}

function totalsJson(totals: Totals): Record<string, unknown> {
  return { regions: totals.regions, sizeBytes: totals.sizeBytes, ...countersJson(totals.counters) };
}

function groupJson(group: RegionGroup): Record<string, unknown> {
  return { name: group.name, label: group.label, totals: totalsJson(group.totals), regions: group.regions.map(regionJson) };
}

export function mapJson(map: ProcessMap): Record<string, unknown> {
  const totals = totalsOf(map.regions);
  return {
    pid: map.pid, exe: map.exe, source: map.source,
    total: { vszBytes: totals.sizeBytes, rssBytes: totals.counters.Rss, ...totalsJson(totals) },
    groups: groupRegions(map).map(groupJson),
    rollup: map.rollup === null ? null : map.rollup.fields,
    notes: notes(map),
  };
}
