/** How the lab writes numbers: grouped digits, bytes with a binary unit, percentages. */

const UNITS = ["KiB", "MiB", "GiB", "TiB"] as const;

/** "7,039,119": an integer with grouped digits. */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: 0 });
}

/** "7,039,119 B (6.71 MiB)"; small values without the unit in parentheses. */
export function formatBytes(bytes: number): string {
  return bytes < 1024 ? `${formatCount(bytes)} B` : `${formatCount(bytes)} B (${formatBinary(bytes)})`;
}

/** "6.71 MiB": the short form, for tables. */
export function formatBinary(bytes: number): string {
  let value = bytes;
  let unit = "B";
  for (const next of UNITS) {
    if (value < 1024) break;
    value /= 1024;
    unit = next;
  }
  return unit === "B" ? `${bytes} B` : `${value.toFixed(2)} ${unit}`;
}

/** A ratio as a percentage with one decimal: 0.9761 -> "97.6 %". */
export function formatPercent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)} %`;
}

/** Nanoseconds with one decimal, "-" for none. */
export function formatNs(ns: number | null): string {
  return ns === null ? "-" : ns.toFixed(1);
}
