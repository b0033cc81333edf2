/**
 * A chunk-at-a-time parser for malloc-lab text traces. Feed it bytes in pieces of any size
 * (`push`), then `finish()`; lines are parsed straight from the bytes into growable typed
 * arrays, without a string or object per line. Pure JavaScript (no Node imports), so the web lab
 * can use `parseTrace` too.
 *
 *   1          weight            \
 *   56566      number of ids      |  header: four lines, one integer each
 *   117382     number of ops      |
 *   0          unused            /
 *   a ID SIZE  alloc (SIZE may be left out: the previous size is meant)
 *   r ID SIZE  realloc
 *   f ID       free (`f -1` is free(NULL): dropped)
 *
 * Blank lines are skipped, fields are separated by spaces or tabs, `\r\n` line ends are fine.
 */
import { TraceFormatError } from "./errors.js";
import { OpColumns, LiveSizes } from "./columns.js";
import type { OpSink, Trace, TraceHeader, TraceSummary } from "./trace.js";
import { OP_ALLOC, OP_FREE, OP_REALLOC } from "./trace.js";

const NEWLINE = 10;
const CHAR_CR = 13;
const CHAR_SPACE = 32;
const CHAR_MINUS = 45;
const CHAR_0 = 48;
const LETTER_A = 97;
const LETTER_R = 114;
const LETTER_F = 102;
const GZIP_MAGIC = [0x1f, 0x8b] as const;

const HEADER_FIELDS = ["weight", "number of ids", "number of ops", "unused field"] as const;

/** Per-id tables are sized by the highest id, so the header may not promise more than this. */
export const MAX_TRACE_IDS = 2 ** 26;

/** The fast path leaves longer numbers (and their range errors) to the general one. */
const MAX_FAST_ID_DIGITS = 9;
const MAX_FAST_SIZE_DIGITS = 15;

/** What `nextInteger` returns for no token, a token that is not an integer, one beyond 2^53. */
const MISSING = Number.NEGATIVE_INFINITY;
const NOT_AN_INTEGER = Number.NaN;
const TOO_LARGE = Number.POSITIVE_INFINITY;

/** Parses a trace fed in chunks (`push` them, then `finish()`), as `parseTrace` does for one buffer. */
export class TraceParser {
  private lineNumber = 0;
  private carry: Uint8Array | undefined;
  private readonly headerValues: number[] = [];
  private header: TraceHeader | undefined;
  private opLines = 0;
  private previousSize = -1;
  /** Ops kept (after normalisation): the index of the next one. */
  private keptOps = 0;
  private readonly live = new LiveSizes();
  private freeNullCount = 0;
  private repeatedSizeCount = 0;
  private liveBytes = 0;
  private peakLiveBytes = 0;
  private peakLiveOp = -1;

  // The line being parsed, and the token the cursor stands on.
  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private end = 0;
  private tokenStart = 0;
  private tokenEnd = 0;

  /**
   * `ops` receives every op as it is parsed: by default the columns `finish()` returns; a sink
   * of its own (trace statistics, say) lets a trace stream through in constant memory per op,
   * read back with `finishSummary()`.
   */
  constructor(
    readonly fileName: string,
    private readonly ops: OpSink = new OpColumns(),
  ) {}

  /** Parses every complete line in `chunk`; a partial last line waits for the next chunk. */
  push(bytes: Uint8Array): void {
    const chunk = plainView(bytes);
    let start = 0;
    if (this.carry !== undefined) {
      const newline = indexOfNewline(chunk, 0);
      if (newline < 0) {
        this.carry = concat(this.carry, chunk);
        return;
      }
      const line = concat(this.carry, chunk.subarray(0, newline));
      this.carry = undefined;
      this.parseLine(line, 0, line.length);
      start = newline + 1;
    }
    while (start < chunk.length) {
      const next = this.header === undefined ? -1 : this.parseCanonicalLine(chunk, start);
      if (next >= 0) {
        start = next;
        continue;
      }
      const newline = indexOfNewline(chunk, start);
      if (newline < 0) break;
      this.parseLine(chunk, start, newline);
      start = newline + 1;
    }
    if (start < chunk.length) this.carry = new Uint8Array(chunk.subarray(start));
  }

  /** Parses the last line, checks the trace is complete, and hands over the arrays. */
  finish(): Trace {
    if (!(this.ops instanceof OpColumns)) throw new TypeError("finish() needs the parser's own columns: use finishSummary()");
    const summary = this.finishSummary();
    return { ...summary, ...this.ops.trimmed() };
  }

  /** Everything `finish()` returns but the op columns (which went to the sink). */
  finishSummary(): TraceSummary {
    if (this.carry !== undefined) {
      const line = this.carry;
      this.carry = undefined;
      this.parseLine(line, 0, line.length);
    }
    const header = this.header;
    if (header === undefined) {
      this.fail(`the header has ${this.headerValues.length} of its 4 lines; the file ends`);
    }
    if (this.opLines !== header.opCount) {
      this.fail(`the header declares ${header.opCount} ops but the file has ${this.opLines}`);
    }
    return {
      name: this.fileName,
      header,
      opCount: this.keptOps,
      idCount: this.live.idCount,
      freeNullCount: this.freeNullCount,
      reusedIdCount: this.live.reusedCount,
      repeatedSizeCount: this.repeatedSizeCount,
      peakLiveBytes: this.peakLiveBytes,
      peakLiveOp: this.peakLiveOp,
      finalLiveBytes: this.liveBytes,
      finalLiveBlocks: this.live.liveCount,
    };
  }

  /** The general path: any line, tokenized, with a precise reason for anything wrong. */
  private parseLine(buf: Uint8Array, start: number, end: number): void {
    this.lineNumber++;
    this.buf = buf;
    this.pos = start;
    this.end = end;
    if (this.lineNumber === 1 && isGzip(buf.subarray(start, end))) {
      this.fail("the data is gzip-compressed: decompress it first (readTraceFile does)");
    }
    if (!this.nextToken()) return; // a blank line
    if (this.header === undefined) this.parseHeaderLine();
    else this.parseOpLine();
  }

  private parseHeaderLine(): void {
    const field = HEADER_FIELDS[this.headerValues.length]!;
    this.pos = this.tokenStart;
    const value = this.nextInteger();
    if (!(value >= 0 && value !== TOO_LARGE)) {
      this.fail(`header: the ${field} must be a non-negative integer, not ${this.quotedToken()}`);
    }
    this.expectLineEnd();
    this.headerValues.push(value);
    if (this.headerValues.length < HEADER_FIELDS.length) return;
    const [weight, idCount, opCount] = this.headerValues as [number, number, number];
    if (idCount > MAX_TRACE_IDS) {
      this.fail(`header: ${idCount} ids is above heapkit's limit of ${MAX_TRACE_IDS}`);
    }
    this.header = { weight, idCount, opCount };
    this.ops.reserve?.(opCount);
    this.live.reserve(idCount);
  }

  /**
   * The fast path, for the lines nearly every trace consists of: `a ID SIZE`, `r ID SIZE` or
   * `f ID` with single spaces and plain digits, ending in `\n` or `\r\n` within `buf`. It finds
   * the line's end as it goes (no separate scan) and returns the offset after the newline; for
   * anything else it returns -1, having changed nothing, and the general path (parseLine) takes
   * the line and says what is wrong with it. Both paths share the checks that need no tokens.
   */
  private parseCanonicalLine(buf: Uint8Array, start: number): number {
    const length = buf.length;
    if (start + 3 > length || buf[start + 1] !== CHAR_SPACE) return -1;
    const letter = buf[start];
    let p = start + 2;
    let id = 0;
    for (; p < length; p++) {
      const digit = buf[p]! - CHAR_0;
      if (digit < 0 || digit > 9) break;
      id = id * 10 + digit;
    }
    if (p === start + 2 || p - (start + 2) > MAX_FAST_ID_DIGITS) return -1;
    let size = 0;
    if (letter !== LETTER_F) {
      if ((letter !== LETTER_A && letter !== LETTER_R) || p === length || buf[p] !== CHAR_SPACE) return -1;
      const sizeStart = ++p;
      for (; p < length; p++) {
        const digit = buf[p]! - CHAR_0;
        if (digit < 0 || digit > 9) break;
        size = size * 10 + digit;
      }
      if (p === sizeStart || p - sizeStart > MAX_FAST_SIZE_DIGITS) return -1;
    }
    if (p < length && buf[p] === CHAR_CR) p++;
    if (p === length || buf[p] !== NEWLINE) return -1;
    this.lineNumber++;
    this.countOpLine();
    if (letter === LETTER_F) {
      this.applyFree(id);
    } else {
      this.checkIdRange(id);
      this.previousSize = size;
      if (letter === LETTER_A) this.applyAlloc(id, size);
      else this.applyRealloc(id, size);
    }
    return p + 1;
  }

  private parseOpLine(): void {
    this.countOpLine();
    const letter = this.tokenEnd - this.tokenStart === 1 ? this.buf[this.tokenStart] : 0;
    if (letter === LETTER_A) this.parseAlloc();
    else if (letter === LETTER_R) this.parseRealloc();
    else if (letter === LETTER_F) this.parseFree();
    else this.fail(`unknown op ${this.quotedToken()}: expected a, r or f`);
  }

  private parseAlloc(): void {
    const id = this.readId();
    const field = this.nextInteger();
    const size = field === MISSING ? this.repeatedSize() : this.checkedSize(field);
    this.expectLineEnd();
    this.applyAlloc(id, size);
  }

  private parseRealloc(): void {
    const id = this.readId();
    const field = this.nextInteger();
    if (field === MISSING) this.fail("missing size");
    const size = this.checkedSize(field);
    this.expectLineEnd();
    this.applyRealloc(id, size);
  }

  private parseFree(): void {
    const id = this.nextInteger();
    if (id === MISSING) this.fail("missing id");
    this.expectLineEnd();
    if (id === -1) {
      this.freeNullCount++;
      return;
    }
    this.checkId(id);
    this.applyFree(id);
  }

  private countOpLine(): void {
    this.opLines++;
    if (this.opLines > this.header!.opCount) {
      this.fail(`more ops than the header declares (${this.header!.opCount})`);
    }
  }

  private applyAlloc(id: number, size: number): void {
    if (this.live.isLive(id)) this.fail(`alloc of id ${id}, which is already live`);
    this.live.bind(id, size);
    this.addLiveBytes(size);
    this.ops.push(OP_ALLOC, id, size);
    this.keptOps++;
  }

  private applyRealloc(id: number, size: number): void {
    if (!this.live.isLive(id)) this.fail(`realloc of id ${id}, which is not live`);
    const oldSize = this.live.sizeOf(id);
    this.live.resize(id, size);
    this.addLiveBytes(size - oldSize);
    this.ops.push(OP_REALLOC, id, size);
    this.keptOps++;
  }

  /** Also the fast path's range check: a free names a live id, so one below the header's count. */
  private applyFree(id: number): void {
    if (!this.live.isLive(id)) {
      this.checkIdRange(id);
      this.fail(`free of id ${id}, which is not live`);
    }
    const size = this.live.sizeOf(id);
    this.live.unbind(id);
    this.liveBytes -= size;
    this.ops.push(OP_FREE, id, size);
    this.keptOps++;
  }

  private readId(): number {
    const id = this.nextInteger();
    if (id === MISSING) this.fail("missing id");
    this.checkId(id);
    return id;
  }

  private checkId(id: number): void {
    if (Number.isNaN(id) || id === TOO_LARGE) this.fail(`id ${this.quotedToken()} is not an integer`);
    this.checkIdRange(id);
  }

  private checkIdRange(id: number): void {
    const count = this.header!.idCount;
    if (id < 0 || id >= count) {
      this.fail(`id ${id} is out of range: the header declares ${count} ids (0 to ${count - 1})`);
    }
  }

  private checkedSize(size: number): number {
    if (size === TOO_LARGE) this.fail(`size ${this.quotedToken()} is too large (above 2^53 - 1)`);
    if (!(size >= 0)) this.fail(`size ${this.quotedToken()} is not a non-negative integer`);
    this.previousSize = size;
    return size;
  }

  private repeatedSize(): number {
    if (this.previousSize < 0) this.fail("missing size, and no earlier size to repeat");
    this.repeatedSizeCount++;
    return this.previousSize;
  }

  private addLiveBytes(delta: number): void {
    this.liveBytes += delta;
    if (this.liveBytes > this.peakLiveBytes) {
      this.peakLiveBytes = this.liveBytes;
      this.peakLiveOp = this.keptOps;
    }
  }

  private expectLineEnd(): void {
    if (this.nextToken()) this.fail(`unexpected extra field ${this.quotedToken()}`);
  }

  /** Moves to the next whitespace-separated token of the line; false at the line's end. */
  private nextToken(): boolean {
    const buf = this.buf;
    const end = this.end;
    let p = this.pos;
    while (p < end && buf[p]! <= 32) p++;
    if (p === end) {
      this.pos = p;
      return false;
    }
    this.tokenStart = p;
    while (p < end && buf[p]! > 32) p++;
    this.tokenEnd = p;
    this.pos = p;
    return true;
  }

  /**
   * Moves to the next token and reads it as an integer, in one pass over its bytes: MISSING at
   * the line's end, NOT_AN_INTEGER unless it is `-?[0-9]+`, TOO_LARGE past 2^53.
   */
  private nextInteger(): number {
    const buf = this.buf;
    const end = this.end;
    let p = this.pos;
    while (p < end && buf[p]! <= 32) p++;
    this.tokenStart = p;
    const negative = p < end && buf[p] === CHAR_MINUS;
    if (negative) p++;
    const digitsStart = p;
    let value = 0;
    for (; p < end; p++) {
      const digit = buf[p]! - CHAR_0;
      if (digit < 0 || digit > 9) break;
      value = value * 10 + digit;
    }
    const digitsEnd = p;
    while (p < end && buf[p]! > 32) p++;
    this.tokenEnd = p;
    this.pos = p;
    if (p === this.tokenStart) return MISSING;
    if (digitsEnd !== p || digitsStart === p) return NOT_AN_INTEGER;
    if (value > Number.MAX_SAFE_INTEGER) return TOO_LARGE;
    return negative ? -value : value;
  }

  private quotedToken(): string {
    let text = "";
    for (let p = this.tokenStart; p < this.tokenEnd; p++) text += String.fromCharCode(this.buf[p]!);
    return JSON.stringify(text);
  }

  /** Throws naming the current line (none yet: the file is empty). */
  private fail(reason: string): never {
    throw new TraceFormatError(this.fileName, this.lineNumber === 0 ? undefined : this.lineNumber, reason);
  }
}

/** Parses a whole trace held in memory (plain text, not gzip). */
export function parseTrace(bytes: Uint8Array, name: string): Trace {
  const parser = new TraceParser(name);
  parser.push(bytes);
  return parser.finish();
}

/** True when `bytes` start with the gzip magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
}

/**
 * The same bytes as a plain Uint8Array: Node hands over Buffers (a subclass), and mixing the two
 * makes every byte access in the parser polymorphic, which costs more than parsing.
 */
function plainView(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A plain loop: Buffer#indexOf crosses into C++ per call, which costs more than a short line. */
function indexOfNewline(bytes: Uint8Array, from: number): number {
  const length = bytes.length;
  for (let i = from; i < length; i++) if (bytes[i] === NEWLINE) return i;
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a, 0);
  joined.set(b, a.length);
  return joined;
}
