/**
 * Arena: allocation is a pointer bump; everything goes at once with `reset()`, or back to a
 * `mark()` with `release(mark)`. The blocks and the control block are drawn in bump.ts.
 *
 *   DATA_START        mark() = m                    TOP
 *   ┌────────┬────────┬────────┬────────┬────────┐
 *   │ block  │ block  │ block  │ block  │ block  │  release(m): TOP = m, the three above m freed
 *   └────────┴────────┴────────┴────────┴────────┘
 *
 * A mark is the top at the time: DATA_START, or the end of a block that is still there.
 * release(m) walks down from the last block to the block ending at m (O(blocks released), which
 * also keeps the live counters exact) and throws InvalidMarkError, changing nothing, when m is
 * above the top (released already), inside a block, or not a number this arena could have given.
 * A mark taken below a block that later grew in place by realloc is no longer a boundary: invalid.
 *
 * free(ptr): the last block's bytes go back at once; any other live block cannot be freed alone
 * (UnsupportedOperationError). realloc of the last block is in place (the top moves).
 */
import { InvalidFreeError } from "../errors.js";
import { BumpAllocator, DATA_START } from "./bump.js";
import type { AllocatorStoreOptions } from "./common.js";

const ARENA_MAGIC = 0x414e4552; // "RENA"

/** `release` of something that is not a live mark of this arena. */
export class InvalidMarkError extends InvalidFreeError {
  override name = "InvalidMarkError";
}

export type ArenaOptions = AllocatorStoreOptions;

/**
 * An arena: malloc bumps a pointer, `release(mark)` frees everything allocated after `mark()`,
 * `reset()` frees everything. A single `free` only takes back the last block.
 *
 * @example
 * ```ts
 * const arena = new Arena();
 * const mark = arena.mark();
 * arena.malloc(64); arena.malloc(200);
 * arena.release(mark);                // both blocks freed at once
 * ```
 */
export class Arena extends BumpAllocator {
  readonly name = "arena";

  constructor(options: ArenaOptions = {}) {
    super(options, "arena", ARENA_MAGIC);
  }

  /** The current top: pass it to `release` to free everything allocated after this call. */
  mark(): number {
    return this.top;
  }

  /** Frees every block allocated since `mark()` returned `mark`. */
  release(mark: number): void {
    if (!(Number.isInteger(mark) && mark >= DATA_START && mark <= this.top)) {
      throw new InvalidMarkError(mark, `not a mark of this arena: outside [${DATA_START}, ${this.top}] (released already?)`);
    }
    const keep = this.headerEndingAtOrBelow(mark);
    if ((keep === 0 ? DATA_START : this.endOf(keep)) !== mark) {
      throw new InvalidMarkError(mark, "not a mark of this arena: it falls inside a block");
    }
    this.popAbove(keep);
  }

  protected rollbackHint(): string {
    return "free blocks last-first, or use mark()/release(mark) or reset()";
  }
}
