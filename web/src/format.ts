/** Numbers and spans in words, for the panels and the tooltip. */
import type { HeapSpan } from "heapkit";

const UNITS = ["B", "KiB", "MiB", "GiB"] as const;

/** 1536 -> "1.5 KiB"; exact below 1 KiB. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${UNITS[unit]}`;
}

/** 1234567 -> "1,234,567" (by hand: toLocaleString is slow enough to show in a frame). */
export function formatCount(count: number): string {
  const digits = String(Math.abs(Math.round(count)));
  let grouped = digits.slice(0, ((digits.length - 1) % 3) + 1);
  for (let i = grouped.length; i < digits.length; i += 3) grouped += `,${digits.slice(i, i + 3)}`;
  return count < 0 ? `-${grouped}` : grouped;
}

/** 0.1234 -> "12.3 %". */
export function formatPercent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)} %`;
}

/** An address as the map and the hex view show it: 0x-prefixed hex. */
export function formatAddress(address: number): string {
  return `0x${address.toString(16)}`;
}

/** The tooltip text of a span: offset, size, request and state, and its group. */
export function describeSpan(span: HeapSpan): string {
  const lines = [`${span.held !== undefined ? `free (${span.held})` : span.kind} at ${formatAddress(span.start)}, ${formatCount(span.bytes)} bytes`];
  if (span.kind === "used") {
    lines.push(`ptr ${formatAddress(span.ptr ?? span.start)} (offset ${formatCount(span.ptr ?? span.start)}), asked ${formatCount(span.requestedBytes ?? 0)} bytes`);
  }
  if (span.group !== undefined) {
    const slot = span.group.sizeClassBytes === undefined ? "" : `, class ${span.group.sizeClassBytes} B`;
    lines.push(`in ${span.group.kind} at ${formatAddress(span.group.start)} (${formatBytes(span.group.bytes)}${slot})`);
  }
  if (span.detail !== undefined) lines.push(span.detail);
  return lines.join("\n");
}
