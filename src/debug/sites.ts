/**
 * Allocation and free sites: the "stories" the debug heap tells about a block (where it was
 * allocated, where it was first freed).
 *
 * Every malloc/realloc/free gets a sequence number (operation #n), which is always recorded and
 * costs nothing. A stack trace is captured only when `captureStacks` is on, because building one
 * costs microseconds per call (ASan pays the same price with its fast unwinder, and heaptrack
 * by recording every call). Callers can also label a stretch of work with `withSite(tag, fn)`,
 * which is nearly free and is what leak reports group by when stacks are off.
 *
 * Stack strings cannot live in the byte store, so they stay JS-side here, interned: each distinct
 * (tag, stack) pair is stored once and a block holds its number (-1: nothing recorded).
 */

export type SiteOperation = "malloc" | "realloc" | "free";

/** Where a block was allocated or freed. */
export interface Site {
  operation: SiteOperation;
  /** The heap's operation counter at that call (1 = the first malloc/realloc/free). */
  seq: number;
  /** The stack, frames only ("    at f (file:line:col)" lines), when captureStacks was on. */
  stack?: string;
  /** The label set with `withSite()`, if any. */
  tag?: string;
}

/** What an error or report says when a site has no stack. */
export const STACKS_OFF_HINT = "no stack traces: pass { captureStacks: true } to the DebugHeap (or set heap.captureStacks = true) to record where";

/** No stack and no tag recorded. */
export const NO_SITE = -1;

export class SiteTable {
  /** Capture a stack on every call (costly). */
  captureStacks: boolean;
  /** Frames kept per stack. */
  stackDepth: number;
  /** The current `withSite` label. */
  tag: string | undefined = undefined;

  private readonly ids = new Map<string, number>();
  private readonly stacks: (string | undefined)[] = [];
  private readonly tags: (string | undefined)[] = [];
  private lastTag: string | undefined = undefined;
  private lastTagId = NO_SITE;

  constructor(captureStacks: boolean, stackDepth: number) {
    this.captureStacks = captureStacks;
    this.stackDepth = stackDepth;
  }

  /** Runs `fn` with `tag` as the current label, then puts the outer one back (so labels nest). */
  withTag<T>(tag: string, fn: () => T): T {
    const outer = this.tag;
    this.tag = tag;
    try {
      return fn();
    } finally {
      this.tag = outer;
    }
  }

  /**
   * The site id for the current call. `below` is the public method the user called: its frame
   * and everything above it (the heap's own frames) are left out of the stack.
   */
  capture(below: Function): number {
    if (!this.captureStacks) {
      if (this.tag === undefined) return NO_SITE;
      if (this.tag !== this.lastTag) {
        this.lastTag = this.tag;
        this.lastTagId = this.intern(this.tag, undefined);
      }
      return this.lastTagId;
    }
    const holder: { stack?: string } = {};
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = this.stackDepth;
    Error.captureStackTrace(holder, below);
    Error.stackTraceLimit = limit;
    const text = holder.stack ?? "";
    const firstFrame = text.indexOf("\n");
    return this.intern(this.tag, firstFrame < 0 ? "" : text.slice(firstFrame + 1));
  }

  stackOf(id: number): string | undefined {
    return id === NO_SITE ? undefined : this.stacks[id];
  }

  tagOf(id: number): string | undefined {
    return id === NO_SITE ? undefined : this.tags[id];
  }

  /** A `Site` for an operation, with the stack and tag of site id `id`. */
  site(operation: SiteOperation, seq: number, id: number): Site {
    const site: Site = { operation, seq };
    const stack = this.stackOf(id);
    const tag = this.tagOf(id);
    if (stack !== undefined) site.stack = stack;
    if (tag !== undefined) site.tag = tag;
    return site;
  }

  private intern(tag: string | undefined, stack: string | undefined): number {
    const key = `${tag ?? ""}\u0000${stack ?? ""}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.stacks.length;
      this.stacks.push(stack);
      this.tags.push(tag);
      this.ids.set(key, id);
    }
    return id;
  }
}

/** "malloc (operation #12) [site "parse"]" and the stack below it, indented (none when stacks were off). */
export function formatSite(site: Site, indent = "    "): string {
  const head = `${site.operation} (operation #${site.seq})${site.tag === undefined ? "" : ` [site ${JSON.stringify(site.tag)}]`}`;
  if (site.stack === undefined) return head;
  const frames = site.stack.split("\n").map((line) => indent + line.trim());
  return `${head}\n${frames.join("\n")}`;
}
