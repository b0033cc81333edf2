/**
 * What the small slabs (heap.ts) and the mid slabs (mid-slabs.ts) share: their class lists,
 * doubly linked through two words of each slab's header, and the bit maps with one bit per page
 * that say where slabs are. Slow path only: the fast paths never link, unlink or mark.
 *
 * `head` is the word index of a list's head in the control block; `next` and `prev` are word
 * offsets from s >>> 2, where s is how the layer names its slab (0 ends a list).
 */

/** Pushes slab s on the front of the list at `head`. */
export function pushSlab(words: Uint32Array, head: number, s: number, next: number, prev: number): void {
  const first = words[head]!;
  words[(s >>> 2) + next] = first;
  words[(s >>> 2) + prev] = 0;
  if (first !== 0) words[(first >>> 2) + prev] = s;
  words[head] = s;
}

/** Takes slab s off the list at `head`, clearing its links. */
export function unlinkSlab(words: Uint32Array, head: number, s: number, next: number, prev: number): void {
  const after = words[(s >>> 2) + next]!;
  const before = words[(s >>> 2) + prev]!;
  if (after !== 0) words[(after >>> 2) + prev] = before;
  if (before !== 0) words[(before >>> 2) + next] = after;
  else words[head] = after;
  words[(s >>> 2) + next] = 0;
  words[(s >>> 2) + prev] = 0;
}

/** Sets or clears the bit of offset p's page in the map whose first word is `map`. */
export function setPageBit(words: Uint32Array, map: number, p: number, on: boolean, pageShift: number): void {
  const word = map + (p >>> (pageShift + 5));
  const bit = 1 << ((p >>> pageShift) & 31);
  words[word] = on ? words[word]! | bit : words[word]! & ~bit;
}
