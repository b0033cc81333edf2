/**
 * A trace held in memory: one row per request, as three parallel typed arrays (no JS object per
 * op), already normalised: `f -1` lines are dropped, ids may be reused after a free, an `a`
 * without a size carries the previous size.
 *
 *   op i:   kinds[i]   ids[i]   sizes[i]
 *           OP_ALLOC   id       bytes asked for
 *           OP_REALLOC id       new size in bytes
 *           OP_FREE    id       size of the block being freed (the trace's own bookkeeping)
 *
 * Invariants: every array has length `opCount`; every id is below `idCount`; a free or realloc
 * names a live id, an alloc a dead one; sizes are safe integers (they may exceed 2^32).
 */
export const OP_ALLOC = 0;
export const OP_REALLOC = 1;
export const OP_FREE = 2;

export const OP_LETTERS = ["a", "r", "f"] as const;

export interface TraceHeader {
  weight: number;
  /** Ids run from 0 to this minus 1. */
  idCount: number;
  /** Request lines, `f -1` lines included. */
  opCount: number;
}

/** Where a parser sends each op as it is parsed (the columns of a Trace, or a statistic). */
export interface OpSink {
  reserve?(count: number): void;
  push(kind: number, id: number, size: number): void;
}

/** A trace without its op columns: what streaming through it leaves. */
export type TraceSummary = Omit<Trace, "kinds" | "ids" | "sizes">;

export interface Trace {
  /** The file name as given (or `<stdin>`), for messages and tables. */
  name: string;
  header: TraceHeader;
  opCount: number;
  kinds: Uint8Array;
  ids: Uint32Array;
  sizes: Float64Array;
  /** One more than the highest id used: the length of any per-id table. */
  idCount: number;
  /** What normalisation did. */
  freeNullCount: number;
  reusedIdCount: number;
  repeatedSizeCount: number;
  /** Requested bytes live at the worst moment, and the op right after which it happened. */
  peakLiveBytes: number;
  peakLiveOp: number;
  finalLiveBytes: number;
  finalLiveBlocks: number;
}
