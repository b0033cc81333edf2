/**
 * The demonstration of `heapkit maps` without a PID: heapkit's stores in this process's own
 * map. For each store kind, a Heap with a large reservation is made, a block of tens of MiB is
 * malloc'd and written, then freed and the heap trimmed; smaps is read after each step. The
 * store's mappings are found by the Rss the write adds (find-store.ts), then followed through
 * every step, next to the whole process's RSS.
 */
import { Heap } from "../heap/heap.js";
import type { StoreKind } from "../memory/store.js";
import { locateStore, regionsIn, snapshotSelf, type Snapshot, type Span, type StoreLocation } from "./find-store.js";
import type { Region } from "./parse.js";

export const DEFAULT_WRITE_BYTES = 32 * 2 ** 20;
export const DEMO_RESERVE_BYTES = 2 ** 30;
const FILL_BYTE = 0xa5;

export interface DemoCase {
  name: "default" | StoreKind;
  /** The line of code that made the heap, as a user would write it. */
  code: string;
  make(): Heap;
}

export const DEMO_CASES: DemoCase[] = [
  { name: "default", code: "new Heap()", make: () => new Heap() },
  ...(["resizable", "shared", "wasm"] as const).map((kind): DemoCase => ({
    name: kind,
    code: `new Heap({ kind: "${kind}", maxBytes: 2 ** 30 })`,
    make: () => new Heap({ kind, maxBytes: DEMO_RESERVE_BYTES }),
  })),
];

export interface StepMeasure {
  step: "made" | "written" | "freed";
  /** The virtual size of the store's mappings: its reservation as the kernel sees it. */
  storeVszBytes: number;
  storeRssBytes: number;
  /** What the heap says its store holds: `heap.store.committedBytes`. */
  committedBytes: number;
  processRssBytes: number;
  /** The store's mappings at this step: their permissions, sizes and Rss. */
  mappings: { perms: string; sizeBytes: number; rssBytes: number }[];
}

export interface DemoResult {
  name: DemoCase["name"];
  code: string;
  storeKind: StoreKind;
  reservedBytes: number;
  writtenBytes: number;
  /** Bytes `trim()` gave back to the store (0 where the store cannot shrink). */
  trimmedBytes: number;
  /** How the store was found, or null when no mapping gained Rss. */
  found: { span: Span; grownRange: Span; gainedBytes: number; nextGainBytes: number; how: string } | null;
  steps: StepMeasure[];
}

/** Runs every case (or the named ones) in this process. */
export function runDemo(writeBytes = DEFAULT_WRITE_BYTES, names?: string[]): DemoResult[] {
  return DEMO_CASES.filter((c) => names === undefined || names.includes(c.name)).map((c) => runCase(c, writeBytes));
}

function runCase(demoCase: DemoCase, writeBytes: number): DemoResult {
  const beforeCreate = snapshotSelf();
  const heap = demoCase.make();
  const afterCreate = { ...snapshotSelf(), committedBytes: heap.store.committedBytes };
  const p = heap.mallocOrThrow(writeBytes);
  heap.u8.fill(FILL_BYTE, p, p + writeBytes);
  const afterWrite = { ...snapshotSelf(), committedBytes: heap.store.committedBytes };
  heap.free(p);
  const trimmedBytes = heap.trim();
  const afterFree = { ...snapshotSelf(), committedBytes: heap.store.committedBytes };
  const location = locateStore(beforeCreate, afterCreate, afterWrite);
  const steps = location === undefined ? [] : ([["made", afterCreate], ["written", afterWrite], ["freed", afterFree]] as const)
    .map(([step, snapshot]) => measure(step, snapshot, location.span));
  return {
    name: demoCase.name, code: demoCase.code, storeKind: heap.store.kind, reservedBytes: heap.store.reservedBytes,
    writtenBytes: writeBytes, trimmedBytes, found: location === undefined ? null : foundText(location, writeBytes, afterWrite), steps,
  };
}

function measure(step: StepMeasure["step"], snapshot: Snapshot & { committedBytes: number }, span: Span): StepMeasure {
  const regions = regionsIn(snapshot, span);
  return {
    step,
    storeVszBytes: sum(regions, (region) => region.sizeBytes),
    storeRssBytes: sum(regions, rss),
    committedBytes: snapshot.committedBytes,
    processRssBytes: sum(snapshot.regions, rss),
    mappings: regions.map((region) => ({ perms: region.perms, sizeBytes: region.sizeBytes, rssBytes: rss(region) })),
  };
}

function foundText(location: StoreLocation, writeBytes: number, afterWrite: Snapshot): NonNullable<DemoResult["found"]> {
  const { grown, span } = location;
  const spanBytes = Number(span.end - span.start);
  const how = `of ${afterWrite.regions.length} mappings, ${hexRange(grown)} gained the most Rss across the write: ` +
    `${mib(location.gainedBytes)} for ${mib(writeBytes)} written (next largest gain: ${mib(location.nextGainBytes)}); ` +
    `with the PROT_NONE mappings next to it that appeared when the heap was made, the store spans ${mib(spanBytes)}`;
  return { span, grownRange: { start: grown.start, end: grown.end }, gainedBytes: location.gainedBytes, nextGainBytes: location.nextGainBytes, how };
}

function rss(region: Region): number {
  return region.fields["Rss"] ?? 0;
}

function sum(regions: Region[], value: (region: Region) => number): number {
  return regions.reduce((total, region) => total + value(region), 0);
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function hexRange(span: Span): string {
  return `${span.start.toString(16)}-${span.end.toString(16)}`;
}
