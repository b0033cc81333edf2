/**
 * A memory inspector for one span: its bytes in hex and ASCII, 16 a row, with the payload
 * (from ptr for the requested bytes) marked, and the bytes just around it (red zones show up).
 */
import type { Allocator, HeapSpan } from "heapkit";
import { describeSpan, formatAddress } from "./format.js";

const ROW_BYTES = 16;
const MAX_ROWS = 32;

export function renderHex(element: HTMLElement, allocator: Allocator, span: HeapSpan | undefined): void {
  element.replaceChildren();
  if (span === undefined) {
    element.textContent = "Select a block (click it, or [ and ] on the map) to see its bytes.";
    return;
  }
  const title = document.createElement("div");
  title.className = "hex-title";
  title.textContent = describeSpan(span);
  const table = document.createElement("pre");
  table.className = "hex-rows";
  const u8 = allocator.store.u8;
  const first = Math.floor(span.start / ROW_BYTES) * ROW_BYTES;
  const last = Math.min(u8.length, first + MAX_ROWS * ROW_BYTES, span.start + span.bytes + ROW_BYTES);
  const payloadStart = span.ptr ?? -1;
  const payloadEnd = payloadStart + (span.requestedBytes ?? 0);
  for (let row = first; row < last; row += ROW_BYTES) {
    const line = document.createElement("div");
    line.append(`${formatAddress(row).padStart(10)}  `);
    let ascii = "";
    for (let address = row; address < row + ROW_BYTES && address < u8.length; address++) {
      const byte = u8[address]!;
      const cell = document.createElement("span");
      cell.textContent = byte.toString(16).padStart(2, "0");
      cell.className = classOf(address, span, payloadStart, payloadEnd);
      line.append(cell, " ");
      ascii += byte >= 32 && byte < 127 ? String.fromCharCode(byte) : ".";
    }
    line.append(` ${ascii}`);
    table.append(line);
  }
  element.append(title, table);
}

function classOf(address: number, span: HeapSpan, payloadStart: number, payloadEnd: number): string {
  if (address < span.start || address >= span.start + span.bytes) return "hex-outside";
  if (address >= payloadStart && address < payloadEnd) return "hex-payload";
  return `hex-${span.held ?? span.kind}`;
}
