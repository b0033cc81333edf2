/**
 * The errors the checking wrappers throw, each naming the bug, with the offsets and the sites as
 * fields so a test or a tool can act on them without parsing the message:
 *
 *   bug                         class                          extends (src/errors.ts)
 *   --------------------------  -----------------------------  ---------------------
 *   write past either end       BufferOverflowError            HeapCorruptionError
 *   write (or call) after free  UseAfterFreeError              HeapCorruptionError
 *   free of a freed block       DebugDoubleFreeError           DoubleFreeError
 *   free of a non-block         DebugInvalidFreeError          InvalidFreeError
 *   hardened header broken      CorruptedHeaderError           HeapCorruptionError
 *
 * The debug variants of DoubleFreeError and InvalidFreeError keep their parent's `name`, so a
 * message reads "DoubleFreeError: ..." and `instanceof DoubleFreeError` still holds; they add
 * where the block was allocated and first freed. Offsets are absolute byte offsets in the store;
 * `delta` is the same offset relative to the block's first user byte (-1: one byte before the
 * start; `size`: the first byte past the end).
 */
import { DoubleFreeError, HeapCorruptionError, InvalidFreeError } from "../errors.js";
import { formatSite, type Site, STACKS_OFF_HINT } from "./sites.js";

/** A block as the errors describe it. `freeSite` is set when it was freed. */
export interface BlockStory {
  ptr: number;
  size: number;
  allocSite: Site;
  freeSite?: Site;
}

/** How many corrupted bytes an error keeps in `foundBytes`. */
export const FOUND_BYTES_SHOWN = 16;

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, "0")}`;
}

function hexRun(bytes: readonly number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

function relative(delta: number, size: number): string {
  if (delta < 0) return `${-delta} byte${delta === -1 ? "" : "s"} before the start`;
  if (delta >= size) {
    const past = delta - size + 1;
    return past === 1 ? "the first byte past the end" : `${past} bytes past the end`;
  }
  return `byte ${delta} of the block`;
}

function stories(block: BlockStory, also?: BlockStory): string {
  let text = `\n  allocated by ${formatSite(block.allocSite)}`;
  if (block.freeSite !== undefined) text += `\n  freed by ${formatSite(block.freeSite)}`;
  if (also !== undefined) {
    text += `\n  its memory was reused: it now lies in block ${also.ptr} (${also.size} bytes), allocated by ${formatSite(also.allocSite)}`;
  }
  const sites = [block.allocSite, block.freeSite, also?.allocSite];
  if (sites.some((site) => site !== undefined && site.stack === undefined)) text += `\n  (${STACKS_OFF_HINT})`;
  return text;
}

/** A write into a red zone: before the block (`underflow`) or past its end (`overflow`). */
export class BufferOverflowError extends HeapCorruptionError {
  override name = "BufferOverflowError";
  readonly side: "overflow" | "underflow";
  /** The corrupted run, from `offset`, at most FOUND_BYTES_SHOWN bytes. */
  readonly foundBytes: number[];

  constructor(
    readonly block: BlockStory,
    /** Absolute offset of the corrupted byte nearest the block. */
    offset: number,
    readonly found: number,
    readonly expected: number,
    foundBytes: number[],
  ) {
    super("", offset);
    this.side = offset < block.ptr ? "underflow" : "overflow";
    this.foundBytes = foundBytes;
    const delta = offset - block.ptr;
    this.message = `heap buffer ${this.side}: byte ${offset} is ${relative(delta, block.size)} of block ${block.ptr} ` +
      `(${block.size} bytes): found ${hex(found)}, expected red zone ${hex(expected)} ` +
      `(bytes from there: ${hexRun(foundBytes)})${stories(block)}`;
  }

  get ptr(): number { return this.block.ptr; }
  get size(): number { return this.block.size; }
  get delta(): number { return this.offset! - this.block.ptr; }
  get allocSite(): Site { return this.block.allocSite; }
}

/** How a use after free showed: a changed poison byte (reads are never seen). */
export type UseAfterFreeAccess = "write";

/**
 * A freed block was written: its poison changed while it waited in quarantine (`access: "write"`,
 * found on leaving quarantine or by `check()`). `realloc`/`usableSize` of a freed block throw
 * `DebugInvalidFreeError` (place "freed"), the `InvalidFreeError` the Allocator interface promises.
 */
export class UseAfterFreeError extends HeapCorruptionError {
  override name = "UseAfterFreeError";

  constructor(
    readonly block: BlockStory & { freeSite: Site },
    readonly access: UseAfterFreeAccess,
    /** Absolute offset of the first changed byte. */
    offset: number,
    /** The byte found and the poison expected. */
    readonly found: number,
    readonly expected: number,
    readonly foundBytes: number[],
    /** When the write was noticed. */
    readonly detectedBy: "quarantine" | "check",
  ) {
    super("", offset);
    const delta = offset - block.ptr;
    const what = `byte ${offset} (${relative(delta, block.size)}) of freed block ${block.ptr} (${block.size} bytes) was written after ` +
      `the free: found ${hex(found)}, expected poison ${hex(expected)} (bytes from there: ${hexRun(foundBytes)}); ` +
      `noticed ${detectedBy === "check" ? "by check()" : "when the block left quarantine"}`;
    this.message = `use after free: ${what}${stories(block)}`;
  }

  get ptr(): number { return this.block.ptr; }
  get size(): number { return this.block.size; }
  get delta(): number { return this.offset! - this.block.ptr; }
  get allocSite(): Site { return this.block.allocSite; }
  get freeSite(): Site { return this.block.freeSite; }
}

/** A second free of a block, with where it was allocated and where it was first freed. */
export class DebugDoubleFreeError extends DoubleFreeError {
  constructor(
    readonly block: BlockStory & { freeSite: Site },
    /** The live block whose memory now covers the pointer, if the memory was reused. */
    readonly reusedBy?: BlockStory,
  ) {
    super(block.ptr, ` (${block.size} bytes)${stories(block, reusedBy)}`);
  }

  get allocSite(): Site { return this.block.allocSite; }
  get freeSite(): Site { return this.block.freeSite; }
}

/** Where an invalid pointer points, as far as the debug heap can tell. */
export type InvalidPointerPlace =
  | "interior"        // inside a live block's user bytes, not at its start
  | "left-red-zone"   // just before a live block
  | "right-red-zone"  // just after a live block (or in its slack)
  | "freed-block"     // inside a block that waits in quarantine
  | "freed"           // the start of a freed block (realloc or usableSize after free)
  | "unknown";        // not near any block this heap knows

/** `free`/`realloc`/`usableSize` of an offset that is not the start of a live block. */
export class DebugInvalidFreeError extends InvalidFreeError {
  constructor(
    ptr: unknown,
    readonly operation: "free" | "realloc" | "usableSize",
    readonly place: InvalidPointerPlace,
    /** The block the pointer falls in or next to, if any. */
    readonly block?: BlockStory,
  ) {
    super(ptr, describePlace(ptr, operation, place, block));
  }

  /** The pointer relative to the block's first byte (8: an interior offset 8 bytes in). */
  get delta(): number | undefined {
    return this.block === undefined ? undefined : (this.ptr as number) - this.block.ptr;
  }
}

function describePlace(ptr: unknown, operation: string, place: InvalidPointerPlace, block?: BlockStory): string {
  const call = `${operation} of an offset that is not the start of a live block`;
  if (block === undefined) {
    return typeof ptr === "number" && Number.isInteger(ptr)
      ? `${call}: this heap never returned it (a forged or foreign offset)`
      : `${call}: it is not an integer offset`;
  }
  if (place === "freed") {
    return `${operation} of freed block ${block.ptr} (${block.size} bytes): a use after free, refused${stories(block)}`;
  }
  const delta = (ptr as number) - block.ptr;
  const where = place === "interior" ? `${delta} bytes into`
    : place === "freed-block" ? `${relative(delta, block.size)} of freed`
    : `${relative(delta, block.size)} of`;
  return `${call}: it is ${where} block ${block.ptr} (${block.size} bytes)${stories(block)}`;
}

/**
 * The hardened heap found a block header that fails its checksum: the header was overwritten
 * (an underflow of this block or an overflow of the one before) or a write after free hit it.
 */
export class CorruptedHeaderError extends HeapCorruptionError {
  override name = "CorruptedHeaderError";
  constructor(
    readonly ptr: number,
    readonly operation: "free" | "realloc" | "usableSize" | "check" | "reuse",
    /** The two 32-bit header words as found. */
    readonly header: readonly [number, number],
    detail: string,
  ) {
    super("", ptr - 8);
    this.message = `heap corruption: the header of block ${ptr} (at offset ${ptr - 8}) fails its checksum ` +
      `(found ${header.map((w) => `0x${w.toString(16).padStart(8, "0")}`).join(" ")}) during ${operation}: ${detail}; ` +
      "the request was refused";
  }
}
