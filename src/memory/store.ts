/**
 * Byte stores: the one contract over the places memory can live.
 *
 *   kind          buffer                                 grows        gives memory back (trim)
 *   ------------  -------------------------------------  -----------  -------------------------
 *   array-buffer  ArrayBuffer (fixed)                    no           no
 *   reserved      ArrayBuffer (fixed) of the whole       logically    yes: a fresh buffer of the
 *                 reservation, committed logically       (no copy)    reservation holding the
 *                                                                     bytes below the top
 *   resizable     ArrayBuffer with maxByteLength         in place     yes: resized down
 *   shared        growable SharedArrayBuffer             in place     no
 *   wasm          WebAssembly.Memory                     by pages     no
 *
 * What a view made before a growth or a trim does afterwards (`generation` tells code when):
 *   kind          after growth                           after trim
 *   array-buffer  (cannot grow)                          (cannot trim)
 *   reserved      stays valid: same buffer, same length  detached (length 0): remake it
 *   resizable     stays valid (covers what it covered)   out of bounds (length 0) if it ended
 *                                                         above what is kept, else valid
 *   shared        stays valid                            (cannot trim)
 *   wasm          detached (length 0): remake it         (cannot trim)
 *
 * `reserved` is the default store of `new Heap()`: its views are fixed-length views of a plain
 * ArrayBuffer (V8 reads those faster than any view of a resizable buffer: bench/default-store.ts),
 * and growth is a bump of `committedBytes` within the buffer, which never moves. The engine
 * allocates a large buffer zero-filled from the OS (calloc/mmap), so pages the heap never touched
 * cost no memory (RSS), only address space. `trim` gives touched pages back by replacing the
 * buffer with a fresh one of the same length holding a copy of the bytes kept, and detaching
 * the old one (`transfer(0)` frees it at once on Node 22+; on engines without `transfer` it is
 * detached by `structuredClone` and freed at the next garbage collection). Where the engine
 * refuses a buffer of the whole reservation (a RangeError: a 32-bit browser, strict
 * overcommit), `create` falls back to a resizable store, and `kind` says so.
 *
 *   0 ................ committedBytes ................ reservedBytes
 *   |<-- usable now (RSS-like) -->|<-- may grow into (VSZ-like) -->|
 *
 * Invariants: committedBytes <= reservedBytes <= MAX_STORE_BYTES; committedBytes is a multiple
 * of granuleBytes (except a fixed ArrayBuffer, which is what it is, and a range store); every
 * view spans the whole buffer (a range store's: its range) as it was at the last `refresh()`; usableBytes = min(committedBytes, the views' length).
 * This class is the one place views are made, and `generation` changes exactly when they are
 * remade: code that keeps a view of its own compares the generation it saw, and code that reads
 * `store.u32` each time needs nothing.
 *
 * A range store (`ByteStore.wrap(backing, { start, end })`) is a store on [start, end) of a
 * buffer that is someone else's (a WASM module's memory after its own data, a part of any
 * buffer), made to look exactly like a smaller buffer: every view starts at `base` (start
 * rounded up to 16) and ends at `end` (or the buffer's end, if sooner), so offset 0 of the views
 * is the byte at `base`, and an allocator on it runs the same code as on a store of its own
 * (offsets relative to the range, as OffsetAllocator's and most sub-allocators' are). The sizes
 * count from `base` too: reservedBytes = end - base, committedBytes = what the buffer holds of
 * the range. An address in the whole buffer is `base + offset`.
 *
 *   0 ........ start  base ................................ end ........ buffer's end
 *   | not ours  | pad |<--- views: offset 0 .. end - base --->|  not ours  |
 *
 * It grows the buffer as the range needs (a WASM memory by whole pages, so the buffer may end
 * past `end`), and never shrinks, detaches or replaces it: trim gives nothing back.
 *
 * Several agents may share one buffer (two `Heap.attach` of it, or a Worker): each has its own
 * ByteStore, so growth by one leaves the others' views short (or, for a WASM memory, detached)
 * until their `refresh()`, which costs one length compare when nothing changed. Growth of a
 * shared buffer is race-safe: `grow` asks for the larger of what is there and what is wanted,
 * and another agent's growth past the request counts as success. A `reserved` store's buffer is
 * attached elsewhere as a fixed `array-buffer` of the reservation's length; a trim detaches it.
 */
import { InvalidRangeError, InvalidSizeError, InvalidStoreError } from "../errors.js";
import type { WasmMemory } from "./wasm-memory.js";

export type StoreKind = "array-buffer" | "reserved" | "resizable" | "shared" | "wasm";

/** Offsets are unsigned 32-bit numbers; a store never exceeds 4 GiB minus one WASM page. */
export const MAX_STORE_BYTES = 2 ** 32 - 65536;
export const WASM_PAGE_BYTES = 65536;
export const OS_PAGE_BYTES = 4096;

export interface StoreOptions {
  /** Where the bytes live. @defaultValue "resizable" (`new Heap()`: "reserved") */
  kind?: StoreKind;
  /** Bytes committed at creation. @defaultValue 65536 */
  initialBytes?: number;
  /** Bytes reserved: the most the store may grow to. @defaultValue 1 GiB (fixed: initialBytes) */
  maxBytes?: number;
}

export const DEFAULT_INITIAL_BYTES = 65536;
export const DEFAULT_MAX_BYTES = 2 ** 30;

type Backing = ArrayBuffer | SharedArrayBuffer | WebAssembly.Memory;
/** What a store can wrap, as the published types say it (no DOM lib needed: see wasm-memory.ts). */
export type StoreBacking = ArrayBuffer | SharedArrayBuffer | WasmMemory;

/** Where a range store's bytes are: [start, end) of the buffer (see the top of this file). */
export interface StoreRange {
  /** The first byte the store may use; its views start at it rounded up to 16. @defaultValue 0 */
  start?: number;
  /**
   * The end of what it may use: the store never grows past it.
   * @defaultValue all the buffer may hold (its length, its maximum length, 4 GiB - 64 KiB for a WASM memory)
   */
  end?: number;
}

/** A range's base is its start rounded up to this: alignments up to 16 hold in the whole buffer too. */
export const RANGE_BASE_ALIGN = 16;

/**
 * A byte store: the memory an allocator hands out offsets into, with its views (made here and
 * nowhere else), its committed and reserved sizes, growth, trimming and a `generation` that
 * changes when the views must be remade. See the table above for what each kind does.
 *
 * @example
 * ```ts
 * const store = ByteStore.create({ kind: "shared", maxBytes: 64 << 20 });
 * const heap = new Heap({ store });        // a Worker opens it with Heap.attach(store.handle)
 * ```
 */
export class ByteStore {
  u8!: Uint8Array;
  i8!: Int8Array;
  u16!: Uint16Array;
  i16!: Int16Array;
  u32!: Uint32Array;
  i32!: Int32Array;
  f32!: Float32Array;
  f64!: Float64Array;
  i64!: BigInt64Array;
  u64!: BigUint64Array;
  /**
   * Where the views start in the buffer: 0, or a range store's start rounded up to 16. Add it
   * to an offset for a whole-buffer address.
   */
  readonly base: number;
  /** A range store's first byte as given (base is it rounded up), 0 otherwise. */
  readonly start: number;
  /** True for a range store (wrapped with `{ start, end }`): it never shrinks the buffer. */
  readonly isRange: boolean;
  /** Changes exactly when the views above are remade (growth that moves the buffer, trim, or another agent's growth seen by `refresh`). */
  generation = 0;
  /** Bytes that may be used now: the committed bytes the views reach (a plain field, for the heap's growth check). */
  usableBytes = 0;
  readonly granuleBytes: number;
  /** A reserved store's committed bytes (other kinds: the buffer's length). */
  private committed: number;
  /** A reserved store's high-water of committed bytes since its buffer was made: what a trim must give back. */
  private touched: number;
  /** A range store's end in the buffer (base + reservedBytes); unused otherwise. */
  private readonly rangeEnd: number;
  /** The most a range store's buffer may hold (a WASM memory: the most any may). */
  private readonly bufferLimit: number;

  /**
   * @param reservedBytes the most the store may grow to (a range store's: end - base)
   * @param range a range store's [start, end) and its buffer's limit, already validated
   */
  private constructor(
    readonly kind: StoreKind,
    private backing: Backing,
    readonly reservedBytes: number,
    committed = 0,
    range?: { start: number; base: number; end: number; bufferLimit: number },
  ) {
    this.granuleBytes = kind === "wasm" ? WASM_PAGE_BYTES : OS_PAGE_BYTES;
    this.committed = this.touched = committed;
    this.isRange = range !== undefined;
    this.start = range?.start ?? 0;
    this.base = range?.base ?? 0;
    this.rangeEnd = range?.end ?? 0;
    this.bufferLimit = range?.bufferLimit ?? reservedBytes;
    this.refresh();
  }

  /**
   * Creates a store of the given kind, committed to `initialBytes` and reserving `maxBytes`. A
   * "reserved" store the engine cannot allocate (RangeError) is made resizable instead.
   */
  static create(options: StoreOptions = {}): ByteStore {
    const kind = options.kind ?? "resizable";
    const initial = checkBytes("initialBytes", options.initialBytes ?? DEFAULT_INITIAL_BYTES);
    const max = checkBytes("maxBytes", options.maxBytes ?? (kind === "array-buffer" ? initial : Math.max(initial, DEFAULT_MAX_BYTES)));
    if (max < initial) throw new InvalidSizeError(max, `maxBytes must be at least initialBytes (${initial})`);
    const committed = roundUp(initial, OS_PAGE_BYTES);
    const reserved = roundDown(max, OS_PAGE_BYTES);
    switch (kind) {
      case "array-buffer":
        return new ByteStore(kind, new ArrayBuffer(initial), initial);
      case "reserved": {
        const buffer = allocateReservation(Math.max(reserved, committed));
        if (buffer === undefined) return ByteStore.create({ ...options, kind: "resizable" });
        return new ByteStore(kind, buffer, buffer.byteLength, committed);
      }
      case "resizable":
        return new ByteStore(kind, new ArrayBuffer(committed, { maxByteLength: reserved }), reserved);
      case "shared":
        return new ByteStore(kind, new SharedArrayBuffer(committed, { maxByteLength: reserved }), reserved);
      case "wasm": {
        const maximum = Math.floor(max / WASM_PAGE_BYTES);
        const memory = new WebAssembly.Memory({ initial: Math.ceil(initial / WASM_PAGE_BYTES), maximum });
        return new ByteStore(kind, memory, maximum * WASM_PAGE_BYTES);
      }
      default:
        throw new InvalidStoreError(`unknown store kind ${JSON.stringify(kind)}: use array-buffer, reserved, resizable, shared or wasm`);
    }
  }

  /**
   * Wraps an existing buffer or WebAssembly.Memory: to attach to a heap that lives in it, or,
   * with `range`, as a store on [start, end) of it that touches no byte outside (see the top of
   * this file). A bad bound (not an integer, negative, end not past the 16-aligned base, beyond
   * what the buffer may hold) is an `InvalidRangeError` naming it.
   */
  static wrap(backing: StoreBacking, range?: StoreRange): ByteStore {
    const [kind, limit] = wrappedKind(backing);
    if (range === undefined) return new ByteStore(kind, backing as Backing, limit);
    const start = range.start ?? 0;
    checkRangeBound(start, "start", 0, limit - RANGE_BASE_ALIGN);
    const base = roundUp(start, RANGE_BASE_ALIGN);
    const end = range.end ?? limit;
    checkRangeBound(end, "end", base + 1, limit);
    return new ByteStore(kind, backing as Backing, end - base, 0, { start, base, end, bufferLimit: limit });
  }

  /** The current buffer (a WASM memory's changes identity when it grows, a reserved store's on trim). */
  get buffer(): ArrayBuffer | SharedArrayBuffer {
    return this.backing instanceof WebAssembly.Memory ? this.backing.buffer : this.backing;
  }

  /** What can be handed to `Heap.attach` elsewhere: the buffer, or the WebAssembly.Memory. */
  get handle(): StoreBacking {
    return this.backing;
  }

  get committedBytes(): number {
    if (this.isRange) return this.rangeBytes(this.buffer.byteLength);
    return this.kind === "reserved" ? this.committed : this.buffer.byteLength;
  }

  /** How much of a range store's range a buffer of `bufferBytes` holds. */
  private rangeBytes(bufferBytes: number): number {
    return Math.max(0, Math.min(bufferBytes, this.rangeEnd) - this.base);
  }

  get canGrow(): boolean {
    return this.kind !== "array-buffer" && this.committedBytes < this.reservedBytes;
  }

  get canShrink(): boolean {
    return !this.isRange && (this.kind === "resizable" || this.kind === "reserved");
  }

  /**
   * Ensures at least `minBytes` are committed, rounding up to the granule, and that the views
   * cover them. Returns false, and changes nothing, when that is beyond the reservation or the
   * platform refuses. Another agent growing the same buffer meanwhile is not a failure.
   */
  grow(minBytes: number): boolean {
    if (this.kind === "reserved") return this.commitReserved(minBytes);
    if (this.isRange) return this.growRange(minBytes);
    for (;;) {
      const current = this.committedBytes;
      if (minBytes <= current) {
        this.refresh();
        return true;
      }
      const target = roundUp(minBytes, this.granuleBytes);
      if (target > this.reservedBytes || this.kind === "array-buffer") return false;
      if (!this.tryGrow(current, target) && this.committedBytes === current) return false;
      // Grown, by this agent or (when tryGrow lost a race) by another: check again.
    }
  }

  /**
   * A range store grows its buffer until it holds `base + minBytes` (by granules, never past
   * what the buffer may hold), and never past the range's end.
   */
  private growRange(minBytes: number): boolean {
    if (minBytes > this.reservedBytes) return false;
    const needed = this.base + minBytes;
    for (;;) {
      const current = this.buffer.byteLength;
      if (needed <= current) {
        this.refresh();
        return true;
      }
      if (this.kind === "array-buffer") return false;
      const target = Math.min(roundUp(needed, this.granuleBytes), this.bufferLimit);
      if (!this.tryGrow(current, target) && this.buffer.byteLength === current) return false;
    }
  }

  /** A reserved store grows within its buffer: the views stay as they are. */
  private commitReserved(minBytes: number): boolean {
    if (minBytes <= this.committed) return true;
    const target = roundUp(minBytes, this.granuleBytes);
    if (target > this.reservedBytes) return false;
    this.committed = this.usableBytes = target;
    if (target > this.touched) this.touched = target;
    return true;
  }

  /** One attempt to take the buffer from `current` to `target` bytes; false when the engine refused. */
  private tryGrow(current: number, target: number): boolean {
    try {
      const b = this.backing;
      if (b instanceof WebAssembly.Memory) b.grow((target - current) / WASM_PAGE_BYTES);
      else if (b instanceof SharedArrayBuffer) b.grow(target);
      else b.resize(target);
      return true;
    } catch {
      return false; // the engine could not commit the memory, or another agent grew it past target
    }
  }

  /**
   * Gives memory above `keepBytes` back to the operating system, where the store can shrink
   * (a trim). Returns the bytes released. On a reserved store this replaces the buffer (see
   * the top of this file), so it changes `generation`; when nothing above was touched since,
   * or the engine cannot allocate the new buffer, only the commitment drops.
   */
  shrink(keepBytes: number): number {
    const target = roundUp(Math.max(keepBytes, 0), this.granuleBytes);
    if (this.kind !== "reserved") return this.uncommit(target);
    const before = Math.max(this.committed, this.touched);
    if (target >= before) return 0;
    if (this.touched > target && this.replaceReserved(target)) this.touched = target;
    this.committed = this.usableBytes = target;
    return before - target;
  }

  /**
   * Takes back the commitment above `keepBytes` (a failed growth undone). A reserved store only
   * lowers `committedBytes`, keeping its buffer and views (the next trim gives the pages back).
   */
  uncommit(keepBytes: number): number {
    const before = this.committedBytes;
    const target = roundUp(Math.max(keepBytes, 0), this.granuleBytes);
    if (!this.canShrink || target >= before) return 0;
    if (this.kind === "reserved") this.committed = this.usableBytes = target;
    else (this.backing as ArrayBuffer).resize(target);
    this.refresh();
    return before - target;
  }

  /** A reserved store's buffer, replaced by a fresh one holding its first `keepBytes`; the old one detached. */
  private replaceReserved(keepBytes: number): boolean {
    const next = allocateReservation(this.reservedBytes);
    if (next === undefined) return false;
    const old = this.backing as ArrayBuffer;
    new Uint8Array(next, 0, keepBytes).set(new Uint8Array(old, 0, keepBytes));
    if (typeof old.transfer === "function") old.transfer(0); // frees the old memory at once
    else structuredClone(old, { transfer: [old] }); // detached; freed at the next collection
    this.backing = next;
    this.refresh();
    return true;
  }

  /**
   * The one place views are made. They are fixed-length (V8 reads those several times faster
   * than length-tracking views of a resizable buffer), so they are remade whenever the buffer
   * changes identity or length: after `grow` and `shrink` here, or when another agent (a Worker
   * sharing the memory, a second `Heap.attach`) has grown it. Returns true when it remade them.
   */
  refresh(): boolean {
    const buffer = this.buffer;
    const bytes = this.isRange ? this.rangeBytes(buffer.byteLength) : buffer.byteLength;
    if (this.u8 !== undefined && this.u8.buffer === buffer && this.u8.length === bytes) return false;
    // A range store's views start at base (at 0, empty, while the buffer ends before base).
    const from = bytes === 0 ? 0 : this.base;
    this.u8 = new Uint8Array(buffer, from, bytes);
    this.i8 = new Int8Array(buffer, from, bytes);
    this.u16 = new Uint16Array(buffer, from, bytes >>> 1);
    this.i16 = new Int16Array(buffer, from, bytes >>> 1);
    this.u32 = new Uint32Array(buffer, from, bytes >>> 2);
    this.i32 = new Int32Array(buffer, from, bytes >>> 2);
    this.f32 = new Float32Array(buffer, from, bytes >>> 2);
    this.f64 = new Float64Array(buffer, from, bytes >>> 3);
    this.i64 = new BigInt64Array(buffer, from, bytes >>> 3);
    this.u64 = new BigUint64Array(buffer, from, bytes >>> 3);
    this.usableBytes = this.kind === "reserved" ? this.committed : bytes;
    this.generation++;
    return true;
  }
}

/** The kind of store a wrapped backing is, and the most its buffer may hold. */
function wrappedKind(backing: StoreBacking): [StoreKind, number] {
  // A Memory does not expose its maximum; growth beyond it fails and is reported as no memory.
  if (backing instanceof WebAssembly.Memory) return ["wasm", MAX_STORE_BYTES];
  if (backing instanceof SharedArrayBuffer) return ["shared", backing.growable ? backing.maxByteLength : backing.byteLength];
  if (backing instanceof ArrayBuffer) return backing.resizable ? ["resizable", backing.maxByteLength] : ["array-buffer", backing.byteLength];
  throw new InvalidStoreError(`cannot use ${Object.prototype.toString.call(backing)} as a byte store: pass an ArrayBuffer, SharedArrayBuffer or WebAssembly.Memory`);
}

/** A range's start or end: an integer in [min, max], or an `InvalidRangeError` naming it. */
function checkRangeBound(value: number, name: "start" | "end", min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const from = name === "start" ? "0" : `${min} (past the range's 16-aligned base)`;
    throw new InvalidRangeError(value, `a store range's ${name} must be an integer from ${from} to ${max} (what the buffer may hold)`);
  }
}

/** A fixed ArrayBuffer of `bytes` (zero-filled by the engine, untouched pages cost no RSS), or undefined when the engine refuses. */
function allocateReservation(bytes: number): ArrayBuffer | undefined {
  try {
    return new ArrayBuffer(bytes);
  } catch (error) {
    if (error instanceof RangeError) return undefined;
    throw error;
  }
}

function checkBytes(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidSizeError(value, `${name} must be a non-negative integer`);
  if (value > MAX_STORE_BYTES) throw new InvalidSizeError(value, `${name} must be at most ${MAX_STORE_BYTES}`);
  return value;
}

export function roundUp(n: number, granule: number): number {
  return Math.ceil(n / granule) * granule;
}

function roundDown(n: number, granule: number): number {
  return Math.floor(n / granule) * granule;
}
