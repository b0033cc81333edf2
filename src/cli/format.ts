/** How the CLI writes numbers (the lab's shared formats, src/report/numbers.ts) and its cli-table3 styles. */
export { formatBinary, formatBytes, formatCount, formatNs, formatPercent } from "../report/numbers.js";

const NO_BORDER = {
  top: "", "top-mid": "", "top-left": "", "top-right": "",
  bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "",
  left: "", "left-mid": "", mid: "", "mid-mid": "", right: "", "right-mid": "", middle: "  ",
};

/** cli-table3 options for a table without borders: one line per row, columns two spaces apart. */
export const PLAIN_TABLE = { chars: NO_BORDER, style: { head: [], border: [], "padding-left": 0, "padding-right": 0 } };

/** cli-table3 options for a boxed table without lines between rows, and without colours. */
export const BOXED_TABLE = { chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" }, style: { head: [], border: [] } };
