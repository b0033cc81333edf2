/**
 * Byte stores: the one contract over the places memory can live.
 *
 *   kind          buffer                                 grows   shrinks  .buffer replaced on grow
 *   ------------  -------------------------------------  ------  -------  -----------------------
 *   array-buffer  ArrayBuffer (fixed)                    no      no       never needed
 *   growable      ArrayBuffer (fixed), replaced          yes     yes      yes, and on shrink (the
 *                 by a longer or shorter one                              old one detached)
 *   resizable     ArrayBuffer with maxByteLength         yes     yes      no (resized in place)
 *   shared        growable SharedArrayBuffer             yes     no       no (grown in place)
 *   wasm          WebAssembly.Memory                     yes     no       yes (old one detached)
 *
 * What a view made before a growth or a shrink does afterwards (`generation` tells code when):
 *   array-buffer  nothing changes
 *   growable      detached (length 0): remake it; the bytes moved to the new buffer
 *   resizable     stays valid after growth (it covers what it covered); after a shrink below
 *                 its end it is out of bounds (length 0)
 *   shared        stays valid (a shared buffer never shrinks)
 *   wasm          detached after growth (length 0): remake it
 * `growable` is there for speed: V8 reads a plain ArrayBuffer's views faster than any view of a
 * resizable one (bench/default-store.ts), and growth by replacement is amortised (at least
 * half as much again each time). Growth uses `ArrayBuffer.prototype.transfer` where the engine
 * has it (it may extend in place), else a copy after which the old buffer is detached, so a
 * stale view fails the same way everywhere.
 *
 *   0 ................ committedBytes ................ reservedBytes
 *   |<-- usable now (RSS-like) -->|<-- may grow into (VSZ-like) -->|
 *
 * Invariants: committedBytes <= reservedBytes <= MAX_STORE_BYTES; committedBytes is a multiple
 * of granuleBytes (except a fixed ArrayBuffer, which is what it is); every view spans the whole
 * buffer as it was at the last `refresh()`. This class is the one place views are made, and
 * `generation` changes exactly when they are remade: code that keeps a view of its own compares
 * the generation it saw, and code that reads `store.u32` each time needs nothing.
 *
 * Several agents may share one buffer (two `Heap.attach` of it, or a Worker): each has its own
 * ByteStore, so growth by one leaves the others' views short (or, for a WASM memory, detached)
 * until their `refresh()`, which costs one length compare when nothing changed. Growth of a
 * shared buffer is race-safe: `grow` asks for the larger of what is there and what is wanted,
 * and another agent's growth past the request counts as success.
 */
import { InvalidSizeError, InvalidStoreError } from "../errors.js";

export type StoreKind = "array-buffer" | "growable" | "resizable" | "shared" | "wasm";

/** Offsets are unsigned 32-bit numbers; a store never exceeds 4 GiB minus one WASM page. */
export const MAX_STORE_BYTES = 2 ** 32 - 65536;
export const WASM_PAGE_BYTES = 65536;
export const OS_PAGE_BYTES = 4096;

export interface StoreOptions {
  /** Where the bytes live. @defaultValue "resizable" */
  kind?: StoreKind;
  /** Bytes committed at creation. @defaultValue 65536 */
  initialBytes?: number;
  /** Bytes reserved: the most the store may grow to. @defaultValue 1 GiB (fixed: initialBytes) */
  maxBytes?: number;
}

export const DEFAULT_INITIAL_BYTES = 65536;
export const DEFAULT_MAX_BYTES = 2 ** 30;

type Backing = ArrayBuffer | SharedArrayBuffer | WebAssembly.Memory;

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
  /** Changes exactly when the views above are remade (growth, shrink, or another agent's growth seen by `refresh`). */
  generation = 0;
  readonly granuleBytes: number;

  private constructor(
    readonly kind: StoreKind,
    private backing: Backing,
    readonly reservedBytes: number,
  ) {
    this.granuleBytes = kind === "wasm" ? WASM_PAGE_BYTES : OS_PAGE_BYTES;
    this.refresh();
  }

  /** Creates a store of the given kind, committed to `initialBytes` and reserving `maxBytes`. */
  static create(options: StoreOptions = {}): ByteStore {
    const kind = options.kind ?? "resizable";
    const initial = checkBytes("initialBytes", options.initialBytes ?? DEFAULT_INITIAL_BYTES);
    const max = checkBytes("maxBytes", options.maxBytes ?? (kind === "array-buffer" ? initial : Math.max(initial, DEFAULT_MAX_BYTES)));
    if (max < initial) throw new InvalidSizeError(max, `maxBytes must be at least initialBytes (${initial})`);
    switch (kind) {
      case "array-buffer":
        return new ByteStore(kind, new ArrayBuffer(initial), initial);
      case "growable":
        return new ByteStore(kind, new ArrayBuffer(roundUp(initial, OS_PAGE_BYTES)), roundDown(max, OS_PAGE_BYTES));
      case "resizable": {
        const reserved = roundDown(max, OS_PAGE_BYTES);
        return new ByteStore(kind, new ArrayBuffer(roundUp(initial, OS_PAGE_BYTES), { maxByteLength: reserved }), reserved);
      }
      case "shared": {
        const reserved = roundDown(max, OS_PAGE_BYTES);
        return new ByteStore(kind, new SharedArrayBuffer(roundUp(initial, OS_PAGE_BYTES), { maxByteLength: reserved }), reserved);
      }
      case "wasm": {
        const maximum = Math.floor(max / WASM_PAGE_BYTES);
        const memory = new WebAssembly.Memory({ initial: Math.ceil(initial / WASM_PAGE_BYTES), maximum });
        return new ByteStore(kind, memory, maximum * WASM_PAGE_BYTES);
      }
      default:
        throw new InvalidStoreError(`unknown store kind ${JSON.stringify(kind)}: use array-buffer, growable, resizable, shared or wasm`);
    }
  }

  /** Wraps an existing buffer or WebAssembly.Memory (to attach to a heap that lives in it). */
  static wrap(backing: Backing): ByteStore {
    if (backing instanceof WebAssembly.Memory) {
      // A Memory does not expose its maximum; growth beyond it fails and is reported as no memory.
      return new ByteStore("wasm", backing, MAX_STORE_BYTES);
    }
    if (backing instanceof SharedArrayBuffer) {
      return new ByteStore("shared", backing, backing.growable ? backing.maxByteLength : backing.byteLength);
    }
    if (backing instanceof ArrayBuffer) {
      return backing.resizable
        ? new ByteStore("resizable", backing, backing.maxByteLength)
        : new ByteStore("array-buffer", backing, backing.byteLength);
    }
    throw new InvalidStoreError(`cannot use ${Object.prototype.toString.call(backing)} as a byte store: pass an ArrayBuffer, SharedArrayBuffer or WebAssembly.Memory`);
  }

  /** The current buffer (a WASM memory's changes identity when it grows). */
  get buffer(): ArrayBuffer | SharedArrayBuffer {
    return this.backing instanceof WebAssembly.Memory ? this.backing.buffer : this.backing;
  }

  /** What can be handed to `Heap.attach` elsewhere: the buffer, or the WebAssembly.Memory. */
  get handle(): Backing {
    return this.backing;
  }

  get committedBytes(): number {
    return this.buffer.byteLength;
  }

  get canGrow(): boolean {
    return this.kind !== "array-buffer" && this.committedBytes < this.reservedBytes;
  }

  get canShrink(): boolean {
    return this.kind === "resizable" || this.kind === "growable";
  }

  /**
   * Ensures at least `minBytes` are committed, rounding up to the granule, and that the views
   * cover them. Returns false, and changes nothing, when that is beyond the reservation or the
   * platform refuses. Another agent growing the same buffer meanwhile is not a failure.
   */
  grow(minBytes: number): boolean {
    for (;;) {
      const current = this.committedBytes;
      if (minBytes <= current) {
        this.refresh();
        return true;
      }
      const needed = roundUp(minBytes, this.granuleBytes);
      // A replaced buffer is copied: grow it by half at least, so copies cost O(1) per byte.
      const target = this.kind === "growable" ? Math.max(needed, Math.min(roundUp(current * 1.5, this.granuleBytes), this.reservedBytes)) : needed;
      if (target > this.reservedBytes || this.kind === "array-buffer") return false;
      if (!this.tryGrow(current, target) && this.committedBytes === current) return false;
      // Grown, by this agent or (when tryGrow lost a race) by another: check again.
    }
  }

  /** One attempt to take the buffer from `current` to `target` bytes; false when the engine refused. */
  private tryGrow(current: number, target: number): boolean {
    try {
      const b = this.backing;
      if (b instanceof WebAssembly.Memory) b.grow((target - current) / WASM_PAGE_BYTES);
      else if (b instanceof SharedArrayBuffer) b.grow(target);
      else if (this.kind === "growable") this.replace(target);
      else b.resize(target);
      return true;
    } catch {
      return false; // the engine could not commit the memory, or another agent grew it past target
    }
  }

  /** Gives memory above `keepBytes` back, where the buffer can shrink. Returns bytes released. */
  shrink(keepBytes: number): number {
    const before = this.committedBytes;
    const target = roundUp(Math.max(keepBytes, 0), this.granuleBytes);
    if (!this.canShrink || target >= before) return 0;
    if (this.kind === "growable") this.replace(target);
    else (this.backing as ArrayBuffer).resize(target);
    this.refresh();
    return before - target;
  }

  /** A growable store's buffer, replaced by one of `bytes` holding the same bytes; the old one is detached. */
  private replace(bytes: number): void {
    const old = this.backing as ArrayBuffer;
    if (typeof old.transfer === "function") {
      this.backing = old.transfer(bytes);
      return;
    }
    const next = new ArrayBuffer(bytes);
    new Uint8Array(next).set(new Uint8Array(old, 0, Math.min(bytes, old.byteLength)));
    structuredClone(old, { transfer: [old] }); // detaches old: a stale view fails as it would after transfer
    this.backing = next;
  }

  /**
   * The one place views are made. They are fixed-length (V8 reads those several times faster
   * than length-tracking views of a resizable buffer), so they are remade whenever the buffer
   * changes identity or length: after `grow` and `shrink` here, or when another agent (a Worker
   * sharing the memory, a second `Heap.attach`) has grown it. Returns true when it remade them.
   */
  refresh(): boolean {
    const buffer = this.buffer;
    if (this.u8 !== undefined && this.u8.buffer === buffer && this.u8.length === buffer.byteLength) return false;
    const bytes = buffer.byteLength;
    this.u8 = new Uint8Array(buffer, 0, bytes);
    this.i8 = new Int8Array(buffer, 0, bytes);
    this.u16 = new Uint16Array(buffer, 0, bytes >>> 1);
    this.i16 = new Int16Array(buffer, 0, bytes >>> 1);
    this.u32 = new Uint32Array(buffer, 0, bytes >>> 2);
    this.i32 = new Int32Array(buffer, 0, bytes >>> 2);
    this.f32 = new Float32Array(buffer, 0, bytes >>> 2);
    this.f64 = new Float64Array(buffer, 0, bytes >>> 3);
    this.i64 = new BigInt64Array(buffer, 0, bytes >>> 3);
    this.u64 = new BigUint64Array(buffer, 0, bytes >>> 3);
    this.generation++;
    return true;
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
