/**
 * Finds where a byte store lives in the process's map from what it does, not from where it
 * might be: snapshots of smaps before the store is made, after, and after bytes are written
 * into it. The mapping whose Rss grew the most across the write is the store's committed part;
 * the PROT_NONE mappings right next to it that appeared when the store was made are the rest
 * of its reservation (V8 reserves a growable buffer's maximum as inaccessible address space).
 *
 *   before create:   ... [ other ] ..............................................
 *   after create:    ... [ other ] [rw 64K][------------- PROT_NONE 1 GiB -------]
 *   after write:     ... [ other ] [rw 48M, Rss 48M ][---- PROT_NONE 976M -------]
 *                                  ^ largest Rss gain ^ adjacent and new at create: same span
 *
 * The kernel merges neighbouring anonymous mappings with the same permissions into one, so a
 * span can take in a neighbour's PROT_NONE that was made at the same time; the demonstration
 * prints the span next to the store's own reservation, where that would show.
 */
import { readFileSync } from "node:fs";
import { parseSmaps, type Region } from "./parse.js";

export interface Snapshot {
  regions: Region[];
}

/** The smaps of this process now. */
export function snapshotSelf(): Snapshot {
  return { regions: parseSmaps(readFileSync("/proc/self/smaps", "utf8"), "/proc/self/smaps") };
}

export interface Span {
  start: bigint;
  end: bigint;
}

export interface StoreLocation {
  span: Span;
  /** The mapping that gained the most Rss, as it was after the write. */
  grown: Region;
  gainedBytes: number;
  /** The largest gain of any other mapping: how clearly the store stood out. */
  nextGainBytes: number;
}

function rss(region: Region): number {
  return region.fields["Rss"] ?? 0;
}

/** The region of `snapshot` that holds `address`, if any. */
function regionAt(snapshot: Snapshot, address: bigint): Region | undefined {
  return snapshot.regions.find((region) => region.start <= address && address < region.end);
}

/** The Rss each region of `after` gained over the region that held its start address in `before`. */
function rssGains(before: Snapshot, after: Snapshot): { region: Region; gain: number }[] {
  return after.regions.map((region) => {
    const old = regionAt(before, region.start);
    return { region, gain: rss(region) - (old === undefined ? 0 : rss(old)) };
  });
}

/** Regions of `after` that `before` did not have (a mapping with another start or end). */
function newRegions(before: Snapshot, after: Snapshot): Region[] {
  const known = new Set(before.regions.map((region) => `${region.start}-${region.end}`));
  return after.regions.filter((region) => !known.has(`${region.start}-${region.end}`));
}

function overlaps(region: Region, others: Region[]): boolean {
  return others.some((other) => other.start < region.end && region.start < other.end);
}

/**
 * Locates a store from three snapshots: before it was made, right after, and after bytes were
 * written into it. Returns undefined when no mapping gained any Rss.
 */
export function locateStore(beforeCreate: Snapshot, afterCreate: Snapshot, afterWrite: Snapshot): StoreLocation | undefined {
  const gains = rssGains(afterCreate, afterWrite).sort((a, b) => b.gain - a.gain);
  const best = gains[0];
  if (best === undefined || best.gain <= 0) return undefined;
  const made = newRegions(beforeCreate, afterCreate);
  const isReservation = (region: Region | undefined): region is Region =>
    region !== undefined && region.perms.startsWith("---") && region.path === "" && overlaps(region, made);
  const regions = afterWrite.regions;
  let low = regions.indexOf(best.region);
  let high = low;
  while (isReservation(regions[low - 1]) && regions[low - 1]!.end === regions[low]!.start) low--;
  while (isReservation(regions[high + 1]) && regions[high + 1]!.start === regions[high]!.end) high++;
  return {
    span: { start: regions[low]!.start, end: regions[high]!.end },
    grown: best.region,
    gainedBytes: best.gain,
    nextGainBytes: Math.max(0, gains[1]?.gain ?? 0),
  };
}

/** The regions of `snapshot` that overlap `span`, in address order. */
export function regionsIn(snapshot: Snapshot, span: Span): Region[] {
  return snapshot.regions.filter((region) => region.start < span.end && span.start < region.end);
}
