/**
 * A coarse copy of a big heap's map for zooming and panning while the heap stands still: one walk
 * adds every span's bytes, per channel, into bins of `binBytes`; levels above halve the bins
 * (a mip pyramid). A zoomed-out frame then draws from the level whose bins are just smaller than
 * its cells, so it costs about one bin per cell, not one visit per span. A new key (the heap
 * changed) means a rebuild.
 *
 *   level 0   | b | b | b | b | b | b | b | b |   binBytes
 *   level 1   |   b   |   b   |   b   |   b   |   2 * binBytes  (sums of pairs)
 *   ...
 *
 * Block edges survive as "the widest span that starts in this bin, and where"; group starts
 * as one bit per bin.
 */
import type { Allocator } from "heapkit";
import { CHANNEL_COUNT, EDGE_BLOCK, EDGE_GROUP, MIN_EDGE_SPAN_PX, type Raster } from "./raster.js";

/** Level 0 has at most this many bins. */
const MAX_BINS = 1 << 19;
const MIN_BIN_BYTES = 16;

interface Level {
  binBytes: number;
  bytes: Float32Array;
  widest: Float32Array;
  widestStart: Float64Array;
  groupStart: Uint8Array;
}

export type ChannelOf = (kind: number, inGroup: boolean, held: number) => number;

export class CoarseMap {
  key = "";
  /** One past the last span walked. */
  end = 0;
  private base = 0;
  private levels: Level[] = [];

  /** Rebuilds from one walk of [base, end). */
  build(allocator: Allocator, base: number, end: number, key: string, channelOf: ChannelOf): void {
    this.key = key;
    this.base = base;
    this.end = base;
    let binBytes = MIN_BIN_BYTES;
    while ((end - base) / binBytes > MAX_BINS) binBytes *= 2;
    const level0 = makeLevel(binBytes, Math.ceil((end - base) / binBytes));
    let lastGroup = -1;
    allocator.walkInto((start, bytes, kind, _ptr, _requested, groupStart, held) => {
      const channel = channelOf(kind, groupStart >= 0, held);
      const bin = Math.floor((start - base) / binBytes);
      if (bytes > level0.widest[bin]!) {
        level0.widest[bin] = bytes;
        level0.widestStart[bin] = start;
      }
      if (groupStart !== lastGroup && groupStart >= 0) level0.groupStart[bin] = 1;
      lastGroup = groupStart;
      this.end = start + bytes;
      addBytes(level0, base, start, bytes, channel);
    }, base, end);
    this.levels = [level0];
    for (let top = level0; top.widest.length > 1; ) {
      top = halve(top);
      this.levels.push(top);
    }
  }

  /** Whether a view whose cells hold `cellBytes` bytes can be drawn from the bins. */
  covers(cellBytes: number): boolean {
    return this.levels.length > 0 && cellBytes >= this.levels[0]!.binBytes;
  }

  /** Adds the bins over [start, end) into the raster, from the level just finer than its cells. */
  drawInto(raster: Raster, start: number, end: number, cellBytes: number): void {
    let level = this.levels[0]!;
    for (const candidate of this.levels) if (candidate.binBytes <= cellBytes) level = candidate;
    const binBytes = level.binBytes;
    const first = Math.max(0, Math.floor((start - this.base) / binBytes));
    const last = Math.min(level.widest.length, Math.ceil((end - this.base) / binBytes));
    for (let bin = first; bin < last; bin++) {
      const binStart = this.base + bin * binBytes;
      for (let channel = 0; channel < CHANNEL_COUNT; channel++) {
        const bytes = level.bytes[bin * CHANNEL_COUNT + channel]!;
        if (bytes !== 0) raster.add(binStart, binBytes, channel, 0, bytes / binBytes);
      }
      if (level.widest[bin]! >= MIN_EDGE_SPAN_PX * cellBytes) raster.markEdge(level.widestStart[bin]!, EDGE_BLOCK);
      if (level.groupStart[bin] !== 0) raster.markEdge(binStart, EDGE_GROUP);
    }
  }
}

function makeLevel(binBytes: number, bins: number): Level {
  return {
    binBytes,
    bytes: new Float32Array(bins * CHANNEL_COUNT),
    widest: new Float32Array(bins),
    widestStart: new Float64Array(bins),
    groupStart: new Uint8Array(bins),
  };
}

function addBytes(level: Level, base: number, start: number, bytes: number, channel: number): void {
  const binBytes = level.binBytes;
  const bins = level.widest.length;
  let at = start;
  const end = start + bytes;
  while (at < end) {
    const bin = Math.floor((at - base) / binBytes);
    if (bin >= bins) return;
    const binEnd = base + (bin + 1) * binBytes;
    const to = end < binEnd ? end : binEnd;
    level.bytes[bin * CHANNEL_COUNT + channel]! += to - at;
    at = to;
  }
}

function halve(level: Level): Level {
  const bins = Math.ceil(level.widest.length / 2);
  const up = makeLevel(level.binBytes * 2, bins);
  for (let bin = 0; bin < level.widest.length; bin++) {
    const parent = bin >> 1;
    for (let channel = 0; channel < CHANNEL_COUNT; channel++) {
      up.bytes[parent * CHANNEL_COUNT + channel]! += level.bytes[bin * CHANNEL_COUNT + channel]!;
    }
    if (level.widest[bin]! > up.widest[parent]!) {
      up.widest[parent] = level.widest[bin]!;
      up.widestStart[parent] = level.widestStart[bin]!;
    }
    up.groupStart[parent]! |= level.groupStart[bin]!;
  }
  return up;
}
