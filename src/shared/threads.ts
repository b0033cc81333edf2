/**
 * Threads leaving a SharedHeap: `releaseThread` (under the central lock) gives an ending thread's
 * empty pages back to the central heap, abandons the pages that still hold live blocks (OWNER 0,
 * on the control block's ABANDONED_HEADS of their class, for the next thread that needs one:
 * mimalloc's abandoned pages), folds its free count into the heap's and frees its slot.
 * `recoverThread` does it for a thread that ended without `detach()`, rebuilding each of its
 * pages from the status words first (right whatever operation it was stopped in).
 *
 * Invariant after either: no page has the thread's tag, its record is zero but for STATE = FREE,
 * and GLOBAL_FREES + Σ the attached threads' FREES is every free ever made.
 */
import { HeapCorruptionError, InvalidStoreError } from "../errors.js";
import type { SharedCore } from "./core.js";
import { Ctl, PageWord, ThreadState, ThreadWord } from "./layout.js";
import { release } from "./lock.js";
import { collectThreadFree, rebuildPage } from "./pages.js";

/** Under the lock: abandons or retires every page of thread t, folds its counters, frees its slot. */
export function releaseThread(core: SharedCore, t: number, rebuild: boolean): void {
  const i32 = core.words;
  const tag = t + 1;
  for (const page of core.pages()) {
    const w = page >>> 2;
    if (Atomics.load(i32, w + PageWord.OWNER) !== tag) continue;
    if (rebuild) rebuildPage(i32, core.halves, page);
    collectThreadFree(i32, core.halves, page);
    if (i32[w + PageWord.USED] === 0) {
      core.setPageBit(page, false);
      i32[core.ctl + Ctl.PAGES]! -= 1;
      core.central.free(page);
      continue;
    }
    const c = i32[w + PageWord.CLASS]!;
    Atomics.store(i32, w + PageWord.OWNER, 0);
    Atomics.store(i32, w + PageWord.IN_FULL, 0);
    i32[w + PageWord.PREV] = 0;
    i32[w + PageWord.NEXT] = i32[core.ctl + Ctl.ABANDONED_HEADS + c]!;
    i32[core.ctl + Ctl.ABANDONED_HEADS + c] = page;
  }
  const record = core.recordOf(t);
  core.doubles[(core.ctl >>> 1) + Ctl.GLOBAL_FREES_F64]! += core.doubles[(record >>> 1) + ThreadWord.FREES_F64]!;
  i32.fill(0, record + 1, record + ThreadWord.WORDS);
  Atomics.store(i32, record + ThreadWord.STATE, ThreadState.FREE);
}

/**
 * Takes back the pages and the slot of thread `threadId`, which ended without detaching. If it
 * died holding the central lock, the central heap is checked first (HeapCorruptionError if it
 * cannot be trusted) and the lock released.
 */
export function recoverThread(core: SharedCore, threadId: number): void {
  if (!Number.isInteger(threadId) || threadId < 0 || threadId >= core.threadCount || threadId === core.threadId) {
    throw new InvalidStoreError(`recover(${String(threadId)}): not another thread's number (0..${core.threadCount - 1}, not this thread's ${core.threadId})`);
  }
  const lock = core.ctl + Ctl.LOCK;
  if (Atomics.compareExchange(core.words, lock, threadId + 1, core.tag) === threadId + 1) {
    try {
      core.central.check();
    } catch (error) {
      release(core.words, lock, core.ctl + Ctl.LOCK_WAITERS);
      throw new HeapCorruptionError(`thread ${threadId} ended inside a central-heap operation and left it inconsistent: ${(error as Error).message}`);
    }
    release(core.words, lock, core.ctl + Ctl.LOCK_WAITERS);
  }
  core.locked(() => {
    if (core.words[core.recordOf(threadId) + ThreadWord.STATE] !== ThreadState.ATTACHED) return;
    releaseThread(core, threadId, true);
  });
}
