/**
 * Benchmark plumbing: repeated runs with the median taken (the machines are noisy and shared),
 * baselines measured in the same run, and results printed as a markdown table.
 */
import { performance } from "node:perf_hooks";

export { rng } from "../src/util/random.js";

export interface Section {
  title: string;
  /** Column names, then rows of cells. */
  columns: string[];
  rows: (string | number)[][];
  notes?: string[];
}

/** Runs `fn` `reps` times and returns the median of its durations in milliseconds. */
export function medianMs(reps: number, fn: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** Formats n with a fixed number of significant decimals. */
export function fmt(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return String(n);
  return n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(digits);
}

export function ratio(a: number, b: number): string {
  return `${fmt(a / b)}x`;
}

export function printSection(section: Section): void {
  const lines = [`### ${section.title}`, "", `| ${section.columns.join(" | ")} |`, `|${section.columns.map(() => " --- ").join("|")}|`];
  for (const row of section.rows) lines.push(`| ${row.join(" | ")} |`);
  for (const note of section.notes ?? []) lines.push("", note);
  console.log(lines.join("\n") + "\n");
}

/** Prints progress on stderr so long runs show they are alive. */
export function progress(message: string): void {
  process.stderr.write(`  ${message}\n`);
}
