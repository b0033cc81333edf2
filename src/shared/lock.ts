/**
 * The central lock: one i32 word, 0 when free, the holder's thread number + 1 when held
 * (so recovery can tell who died holding it). Taken with compareExchange; a thread that cannot
 * take it spins a little, then sleeps in `Atomics.wait` where the agent may block (Workers,
 * Node's main thread). A browser's main thread may not block: there the wait is a bounded spin,
 * and past `SPIN_LIMIT_MS` the call throws `LockTimeoutError` instead of hanging the page.
 */
import { HeapkitError } from "../errors.js";

/** A thread could not take the central lock in time where it may not sleep (a browser's main thread). */
export class LockTimeoutError extends HeapkitError {
  override name = "LockTimeoutError";
  constructor(readonly holder: number, readonly waitedMs: number) {
    super(`the shared heap's central lock is held by thread ${holder - 1} and this agent cannot block: gave up after ${waitedMs.toFixed(0)} ms (move heavy allocation off the main thread)`);
  }
}

const SPINS_BEFORE_SLEEP = 64;
const SPIN_LIMIT_MS = 2000;
const SLEEP_MS = 2;

/** Whether this agent may call `Atomics.wait` (false on a browser's main thread). */
export function agentCanBlock(probe: Int32Array): boolean {
  try {
    Atomics.wait(probe, 0, 1, 0); // value differs: returns "not-equal" at once, or throws
    return true;
  } catch {
    return false;
  }
}

export function acquire(i32: Int32Array, lockWord: number, waitersWord: number, me: number, canBlock: boolean): void {
  if (Atomics.compareExchange(i32, lockWord, 0, me) === 0) return;
  acquireContended(i32, lockWord, waitersWord, me, canBlock);
}

function acquireContended(i32: Int32Array, lockWord: number, waitersWord: number, me: number, canBlock: boolean): void {
  const started = Date.now();
  for (let spins = 0; ; spins++) {
    const holder = Atomics.compareExchange(i32, lockWord, 0, me);
    if (holder === 0) return;
    if (spins < SPINS_BEFORE_SLEEP) continue;
    if (canBlock) {
      Atomics.add(i32, waitersWord, 1);
      Atomics.wait(i32, lockWord, holder, SLEEP_MS);
      Atomics.sub(i32, waitersWord, 1);
    } else if (Date.now() - started > SPIN_LIMIT_MS) {
      throw new LockTimeoutError(holder, Date.now() - started);
    }
  }
}

export function release(i32: Int32Array, lockWord: number, waitersWord: number): void {
  Atomics.store(i32, lockWord, 0);
  if (Atomics.load(i32, waitersWord) !== 0) Atomics.notify(i32, lockWord, 1);
}
