/**
 * The demonstration as text and JSON. Text, per case:
 *
 *   new Heap({ kind: "resizable", maxBytes: 2 ** 30 }): resizable, 1.00G reserved, malloc(32.0 MiB)
 *     found: of 104 mappings, 7f..-7f.. gained the most Rss across the write: 32.0 MiB for ...
 *     step               committed store VSZ store Rss process RSS  store mappings
 *     made                     64K     1.00G       40K       49.9M  rw-p 64K, ---p 1023.9M
 */
import { mib, type DemoResult, type StepMeasure } from "./demo.js";
import { hex, shortBytes } from "./format.js";

const STEP_TEXT: Record<StepMeasure["step"], (result: DemoResult) => string> = {
  made: () => "made",
  written: () => "malloc'd, written",
  freed: () => "free + trim()",
};

export function demoText(results: DemoResult[]): string {
  const out = [
    "heapkit's stores in this process's own map (heapkit maps PID shows another process).",
    "Each store is found by the Rss a write adds. VSZ: what it reserves; Rss: what it holds in memory.",
  ];
  for (const result of results) out.push("", ...caseText(result));
  return `${out.join("\n")}\n`;
}

function caseText(result: DemoResult): string[] {
  const head = `${result.code}: ${result.storeKind}, ${shortBytes(result.reservedBytes)} reserved, malloc(${mib(result.writtenBytes)})`;
  if (result.found === null) return [head, "  not found: no mapping gained Rss when the block was written"];
  const rows = result.steps.map((step) => stepLine([STEP_TEXT[step.step](result), shortBytes(step.committedBytes), shortBytes(step.storeVszBytes),
    shortBytes(step.storeRssBytes), shortBytes(step.processRssBytes)], step.mappings.map((m) => `${m.perms} ${shortBytes(m.sizeBytes)}`).join(", ")));
  const trim = result.trimmedBytes > 0 ? `trim() gave back ${mib(result.trimmedBytes)}` : `trim() gave nothing back: a ${result.storeKind} store cannot shrink`;
  return [head, ...wrap(`found: ${result.found.how}.`, "  "), stepLine(["step", "committed", "store VSZ", "store Rss", "process RSS"], "store mappings"), ...rows, `  ${trim}`];
}

/** Step, then committed (the heap's count), the store's VSZ and Rss and the process's RSS (the kernel's). */
const STEP_WIDTHS = [-18, 10, 10, 10, 12];

function stepLine(cells: string[], mappings: string): string {
  const padded = cells.map((cell, i) => (STEP_WIDTHS[i]! < 0 ? cell.padEnd(-STEP_WIDTHS[i]!) : cell.padStart(STEP_WIDTHS[i]!)));
  return `  ${padded.join("")}  ${mappings}`.trimEnd();
}

/** Breaks a long sentence into lines of at most 100 columns. */
function wrap(text: string, indent: string): string[] {
  const lines: string[] = [];
  let line = indent;
  for (const word of text.split(" ")) {
    if (line.length + word.length + 1 > 100 && line.trim() !== "") {
      lines.push(line.trimEnd());
      line = `${indent}  `;
    }
    line += `${word} `;
  }
  return [...lines, line.trimEnd()];
}

export function demoJson(results: DemoResult[]): Record<string, unknown> {
  return {
    pid: process.pid,
    cases: results.map((result) => ({
      ...result,
      found: result.found === null ? null : {
        ...result.found,
        span: { start: `0x${hex(result.found.span.start)}`, end: `0x${hex(result.found.span.end)}` },
        grownRange: { start: `0x${hex(result.found.grownRange.start)}`, end: `0x${hex(result.found.grownRange.end)}` },
      },
    })),
  };
}
