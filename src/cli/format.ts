/** How the CLI writes numbers: grouped digits, bytes with a binary unit, percentages. */

const UNITS = ["KiB", "MiB", "GiB", "TiB"] as const;

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

export function formatNs(ns: number | null): string {
  return ns === null ? "-" : ns.toFixed(1);
}

const NO_BORDER = {
  top: "", "top-mid": "", "top-left": "", "top-right": "",
  bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "",
  left: "", "left-mid": "", mid: "", "mid-mid": "", right: "", "right-mid": "", middle: "  ",
};

/** cli-table3 options for a table without borders: one line per row, columns two spaces apart. */
export const PLAIN_TABLE = { chars: NO_BORDER, style: { head: [], border: [], "padding-left": 0, "padding-right": 0 } };

/** cli-table3 options for a boxed table without lines between rows, and without colours. */
export const BOXED_TABLE = { chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" }, style: { head: [], border: [] } };
