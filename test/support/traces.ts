/**
 * Where tests find things: the repo root, the shared real-program traces and their `.meta`
 * counters, and a tmp dir to write small traces into.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { OP_ALLOC, OP_FREE, type Trace } from "../../src/trace/trace.js";

/** Tests run from dist/test/, two levels below the repo root. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const SHARED_TRACES = path.resolve(REPO_ROOT, "../shared/traces");
export const SHARED_TRACE_NAMES = ["git-log-p", "perl-wordfreq", "python-json-regex", "sqlite3-workload"] as const;

export function sharedTracePath(name: string): string {
  return path.join(SHARED_TRACES, `${name}.rep.gz`);
}

/** The recorder's counters for a shared trace, `key=value` per line. */
export function sharedTraceMeta(name: string): Record<string, number> {
  const meta: Record<string, number> = {};
  for (const line of readFileSync(path.join(SHARED_TRACES, `${name}.meta`), "utf8").split("\n")) {
    const [key, value] = line.split("=");
    if (key && value !== undefined) meta[key] = Number(value);
  }
  return meta;
}

/** A malloc-lab trace text from its op lines, with a header that matches them. */
export function traceText(lines: string[], idCount = countIds(lines)): string {
  return [1, idCount, lines.length, 0, ...lines].join("\n") + "\n";
}

function countIds(lines: string[]): number {
  let max = -1;
  for (const line of lines) max = Math.max(max, Number(line.split(/\s+/)[1]));
  return max + 1;
}

export function tmpDir(): string {
  return mkdtempSync(path.join(tmpdir(), "heapkit-test-"));
}

/** Writes `text` to `dir/name` (gzipped when the name ends in .gz) and returns the path. */
export function writeTrace(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, name.endsWith(".gz") ? gzipSync(text) : text);
  return file;
}

/** The first `opCount` ops of `trace`, as a trace of its own (its peak and final counts recomputed). */
export function tracePrefix(trace: Trace, opCount: number): Trace {
  const kinds = trace.kinds.subarray(0, opCount);
  const sizes = trace.sizes.subarray(0, opCount);
  const ids = trace.ids.subarray(0, opCount);
  const live = new Float64Array(trace.idCount);
  let liveBytes = 0, liveBlocks = 0, peakLiveBytes = 0, peakLiveOp = -1;
  for (let op = 0; op < opCount; op++) {
    const id = ids[op]!;
    if (kinds[op] === OP_FREE) { liveBytes -= live[id]!; liveBlocks--; live[id] = 0; continue; }
    if (kinds[op] === OP_ALLOC) liveBlocks++;
    liveBytes += sizes[op]! - live[id]!;
    live[id] = sizes[op]!;
    if (liveBytes > peakLiveBytes) [peakLiveBytes, peakLiveOp] = [liveBytes, op];
  }
  return { ...trace, name: `${trace.name} (first ${opCount} ops)`, opCount, kinds, ids, sizes, peakLiveBytes, peakLiveOp, finalLiveBytes: liveBytes, finalLiveBlocks: liveBlocks };
}
