/**
 * What the stats panel adds to `stats()`, from one walk of the whole region: free runs (maximal
 * stretches of adjacent free spans), bytes of metadata and padding, and the free spans by size
 * class (powers of two: class k holds sizes in (2^(k-1), 2^k]). Fed by a walkInto visitor. Held
 * spans (quarantined, delayed) are free but not reusable: they count apart, in heldBytes.
 */
import { SPAN_FREE, SPAN_META, SPAN_PAD, SPAN_USED } from "heapkit";

export const SIZE_CLASS_COUNT = 40;

export class SpanSummary {
  usedSpans = 0;
  freeSpans = 0;
  freeRuns = 0;
  metaBytes = 0;
  padBytes = 0;
  heldBytes = 0;
  readonly freeByClass = new Float64Array(SIZE_CLASS_COUNT);
  readonly freeBytesByClass = new Float64Array(SIZE_CLASS_COUNT);
  private previousFree = false;

  reset(): void {
    this.usedSpans = this.freeSpans = this.freeRuns = this.metaBytes = this.padBytes = this.heldBytes = 0;
    this.freeByClass.fill(0);
    this.freeBytesByClass.fill(0);
    this.previousFree = false;
  }

  /** A SpanVisitor, bound: pass `summary.visit` to walkInto. */
  readonly visit = (_start: number, bytes: number, kind: number, _ptr: number, _requested: number, _group: number, held: number): void => {
    if (held !== 0) this.heldBytes += bytes;
    const free = kind === SPAN_FREE && held === 0;
    if (free) {
      this.freeSpans++;
      if (!this.previousFree) this.freeRuns++;
      const sizeClass = sizeClassOf(bytes);
      this.freeByClass[sizeClass]!++;
      this.freeBytesByClass[sizeClass]! += bytes;
    } else if (kind === SPAN_USED) this.usedSpans++;
    else if (kind === SPAN_META) this.metaBytes += bytes;
    else if (kind === SPAN_PAD) this.padBytes += bytes;
    this.previousFree = free;
  };
}

/** The power-of-two class of a size: the smallest k with 2^k >= bytes. */
export function sizeClassOf(bytes: number): number {
  if (bytes <= 1) return 0;
  return Math.min(SIZE_CLASS_COUNT - 1, Math.ceil(Math.log2(bytes)));
}
