/**
 * Buddy's corruption table: the control block (magic, arena order, table offset, free-list heads,
 * gauges), the order table (a block's order and state, interior entries, slack chunks) and the
 * free blocks' links damaged after random work; check() must throw HeapCorruptionError naming
 * each. Offsets follow the layout drawn at the top of src/allocators/buddy.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Buddy } from "../src/allocators/buddy.js";
import { DoubleFreeError, InvalidFreeError } from "../src/errors.js";
import { corruptionTable, expectRefusal, hardenedRefusalTable, randomWork, type Damage } from "./support/corruption.js";
import type { ReferenceModel } from "./support/model.js";

// The control block and order table of buddy.ts's drawing.
const C_MAGIC = 0;
const C_ARENA_ORDER = 1;
const C_TABLE = 2;
const C_FREE_HEADS = 4;
const F_LIVE_BLOCKS = 144 / 8;
const F_LIVE_BYTES = F_LIVE_BLOCKS + 1;
const F_SLACK_BYTES = F_LIVE_BLOCKS + 3;
const F_FREE_BYTES = F_LIVE_BLOCKS + 4;
const UNIT_BYTES = 16;
const ORDER_MASK = 0x1f;
const FREE = 1 << 5;
const USED = 2 << 5;
const META = 3 << 5;
const STATE_MASK = 3 << 5;
const CHUNK_SHIFT = 7;
const PREV = 4;

const buddySize = (r: () => number): number => (r() < 0.9 ? 1 + Math.floor(r() * 3000) : 1 + Math.floor(r() * 40_000));

interface BuddyContext {
  allocator: Buddy;
  u32: Uint32Array;
  f64: Float64Array;
  model: ReferenceModel;
}

function setup(): BuddyContext {
  const buddy = new Buddy();
  const model = randomWork(buddy, 3, 500, buddySize);
  return { allocator: buddy, u32: buddy.store.u32, f64: buddy.store.f64, model };
}

const W = (offset: number) => offset >>> 2;
/** Index of block x's entry in a fresh u16 view of the store. */
const entryIndex = (c: BuddyContext, x: number) => c.u32[C_TABLE]! / 2 + x / UNIT_BYTES;
const table = (c: BuddyContext) => new Uint16Array(c.allocator.store.buffer);
const entry = (c: BuddyContext, x: number) => table(c)[entryIndex(c, x)]!;
const setEntry = (c: BuddyContext, x: number, e: number) => { table(c)[entryIndex(c, x)] = e; };
const orderOf = (c: BuddyContext, x: number) => entry(c, x) & ORDER_MASK;

/** A live block whose order satisfies `test`. */
function used(c: BuddyContext, test: (k: number, x: number) => boolean = () => true): number {
  for (const x of c.model.live.keys()) if (test(orderOf(c, x), x)) return x;
  assert.fail("no live block of that kind");
}

/** The orders whose free lists are not empty, lowest first. */
function freeOrders(c: BuddyContext): number[] {
  const orders: number[] = [];
  for (let k = 0; k < 32; k++) if (c.u32[C_FREE_HEADS + k] !== 0) orders.push(k);
  return orders;
}

const head = (c: BuddyContext, k: number) => c.u32[C_FREE_HEADS + k]!;

const DAMAGES: readonly Damage<BuddyContext>[] = [
  { name: "the control block's magic word", message: /control block magic is wrong/, damage: (c) => { c.u32[C_MAGIC] ^= 1; } },
  { name: "the arena order", message: /arena order 40 does not fit the store/, damage: (c) => { c.u32[C_ARENA_ORDER] = 40; } },
  { name: "the control block's own table entry", message: /the control block is not META of order 8/, damage: (c) => { setEntry(c, 0, META | 9); } },
  { name: "the order table's offset", message: /the (control block|order table) is not META of order \d+/, damage: (c) => { c.u32[C_TABLE] += UNIT_BYTES; } },
  { name: "the order table's own entry", message: /the order table is not META of order \d+/, damage: (c) => { const t = c.u32[C_TABLE]!; setEntry(c, t, entry(c, t) + 1); } },
  { name: "a used block's order (raised past its alignment)", message: /block of order \d+ is misplaced/, damage: (c) => {
    const x = used(c, (k, at) => at % 2 ** (k + 1) !== 0);
    setEntry(c, x, entry(c, x) + 1);
  } },
  { name: "a used block's order (lowered)", message: /table entry 0 is not the start of a block/, damage: (c) => { const x = used(c, (k) => k > 4); setEntry(c, x, entry(c, x) - 1); } },
  { name: "a used block's state (cleared)", message: /table entry \d+ is not the start of a block/, damage: (c) => { const x = used(c); setEntry(c, x, entry(c, x) & ~STATE_MASK); } },
  { name: "an interior entry (nonzero)", message: /interior table entry 1 of the block at \d+/, damage: (c) => { setEntry(c, used(c, (k) => k >= 5 && k <= 8) + UNIT_BYTES, 1); } },
  { name: "an interior entry (claiming to start a block)", message: /interior table entry \d+ of the block at \d+/, damage: (c) => { setEntry(c, used(c, (k) => k >= 5 && k <= 8) + UNIT_BYTES, USED | 4); } },
  { name: "a used block's slack chunk", message: /slack \d+ exceeds the block/, damage: (c) => { const x = used(c, (k) => k <= 8); setEntry(c, x, (entry(c, x) & 0x7f) | (511 << CHUNK_SHIFT)); } },
  { name: "a used block's second slack chunk", message: /slack \d+ exceeds the block/, damage: (c) => { const x = used(c, (k) => k >= 9 && k <= 16); setEntry(c, x + UNIT_BYTES, 511 << CHUNK_SHIFT); } },
  { name: "a free block split by hand (buddies left unmerged)", message: /free buddies of order \d+ were not merged/, damage: (c) => {
    const k = freeOrders(c).find((j) => j > 4 && j < c.u32[C_ARENA_ORDER]! - 3)!;
    const x = head(c, k);
    setEntry(c, x, FREE | (k - 1));
    setEntry(c, x + 2 ** (k - 1), FREE | (k - 1));
  } },
  { name: "a free block's state (made META)", message: /3 META blocks, expected the control block and the table/, damage: (c) => { const x = head(c, freeOrders(c)[0]!); setEntry(c, x, META | orderOf(c, x)); } },
  { name: "a free block's next link (a cycle)", message: /free list \d+ is longer than the \d+ free blocks of that order|back link/, damage: (c) => { const x = head(c, freeOrders(c)[0]!); c.u32[W(x)] = x; } },
  { name: "a free block's back link", message: /free list \d+: back link 16 should be 0/, damage: (c) => { c.u32[W(head(c, freeOrders(c)[0]!) + PREV)] = 16; } },
  { name: "a free-list head (another order's block)", message: /free list \d+ holds a block that is not FREE of order \d+/, damage: (c) => {
    const [j, k] = freeOrders(c);
    c.u32[C_FREE_HEADS + j!] = head(c, k!);
  } },
  { name: "a free-list head (emptied)", message: /free list \d+ holds 0 blocks, the arena \d+/, damage: (c) => { c.u32[C_FREE_HEADS + freeOrders(c)[0]!] = 0; } },
  { name: "a used block's state (made FREE)", message: /free list \d+ holds \d+ blocks, the arena \d+|free buddies of order \d+ were not merged/, damage: (c) => { const x = used(c); setEntry(c, x, (entry(c, x) & ~STATE_MASK) | FREE); } },
  { name: "a used block's state (made META)", message: /\d+ META blocks, expected the control block and the table/, damage: (c) => { const x = used(c); setEntry(c, x, (entry(c, x) & ~STATE_MASK) | META); } },
  { name: "a free block's entry (cleared)", message: /table entry 0 is not the start of a block/, damage: (c) => { setEntry(c, head(c, freeOrders(c)[0]!), 0); } },
  { name: "a free block's order (raised)", message: /block of order \d+ is misplaced|is not the start of a block|were not merged|free list/, damage: (c) => { const x = head(c, freeOrders(c)[0]!); setEntry(c, x, entry(c, x) + 1); } },
  { name: "an interior entry of the control block", message: /interior table entry 5 of the block at 0/, damage: (c) => { setEntry(c, UNIT_BYTES, 5); } },
  { name: "an interior entry of the order table", message: /interior table entry 7 of the block at \d+/, damage: (c) => { setEntry(c, c.u32[C_TABLE]! + UNIT_BYTES, 7); } },
  { name: "the live-block gauge", message: /LIVE_BLOCKS is \d+, the blocks say \d+/, damage: (c) => { c.f64[F_LIVE_BLOCKS] += 1; } },
  { name: "the live-bytes gauge", message: /LIVE_BYTES is \d+, the blocks say \d+/, damage: (c) => { c.f64[F_LIVE_BYTES] += 1; } },
  { name: "the slack gauge", message: /SLACK_BYTES is \d+, the blocks say \d+/, damage: (c) => { c.f64[F_SLACK_BYTES] -= 1; } },
  { name: "the free-bytes gauge", message: /FREE_BYTES is \d+, the blocks say \d+/, damage: (c) => { c.f64[F_FREE_BYTES] += 16; } },
];

describe("Buddy: check() names each kind of damaged metadata", () => {
  corruptionTable(setup, DAMAGES);
});

describe("Buddy: free refuses blocks whose table entry was damaged", () => {
  it("a used block marked free", () => {
    const c = setup();
    const x = used(c);
    setEntry(c, x, FREE | orderOf(c, x));
    assert.throws(() => c.allocator.free(x), DoubleFreeError);
  });

  it("a used block's entry cleared", () => {
    const c = setup();
    const x = used(c);
    setEntry(c, x, 0);
    expectRefusal(() => c.allocator.free(x), /invalid pointer/);
    assert.throws(() => c.allocator.free(x), InvalidFreeError);
  });
});

describe("HardenedHeap over Buddy", () => {
  hardenedRefusalTable(() => new Buddy(), buddySize);
});
