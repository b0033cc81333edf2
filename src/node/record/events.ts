/**
 * Reads the events files that native/record/preload.c writes (its header comment draws the
 * layout): one per process image, a 4 KiB header, then 32-byte events until the first whose
 * kind is 0. Read in chunks, so the file's unused (sparse) tail is never read whole.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { EventsFileError } from "./errors.js";

export const EVENT_MALLOC = 1;
export const EVENT_CALLOC = 2;
export const EVENT_REALLOC = 3;
export const EVENT_FREE = 4;
export const EVENT_ALIGNED = 5;

const MAGIC = "HKREC001";
const HEADER_BYTES = 4096;
const COMMAND_OFFSET = 24;
const EVENT_BYTES = 32;
const CHUNK_EVENTS = 1 << 16;
const TWO_32 = 2 ** 32;

export interface ProcessHeader {
  file: string;
  pid: number;
  parentPid: number;
  /** argv as /proc/self/cmdline had it (cut to fit the header). */
  argv: string[];
}

/** Receives each event in order; addresses and sizes as numbers (exact below 2^53). */
export type EventSink = (kind: number, result: number, argument: number, size: number, thread: number) => void;

export function readProcessHeader(file: string): ProcessHeader {
  const fd = openSync(file, "r");
  try {
    const header = Buffer.alloc(HEADER_BYTES);
    const got = readSync(fd, header, 0, HEADER_BYTES, 0);
    if (got < HEADER_BYTES || header.toString("latin1", 0, MAGIC.length) !== MAGIC) {
      throw new EventsFileError(file, "not an events file of heapkit's recorder (bad or short header)");
    }
    const argvEnd = lastNonZero(header) + 1;
    return {
      file,
      pid: Number(header.readBigUInt64LE(8)),
      parentPid: Number(header.readBigUInt64LE(16)),
      argv: argvEnd <= COMMAND_OFFSET ? [] : header.toString("utf8", COMMAND_OFFSET, argvEnd).split("\0"),
    };
  } finally {
    closeSync(fd);
  }
}

/** Feeds every event of the file to `sink`; returns how many there were. */
export function readEvents(file: string, sink: EventSink): number {
  const fd = openSync(file, "r");
  const chunk = Buffer.alloc(CHUNK_EVENTS * EVENT_BYTES);
  const words = new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.length / 4);
  let count = 0;
  try {
    for (let position = HEADER_BYTES; ; ) {
      const got = readSync(fd, chunk, 0, chunk.length, position);
      const events = Math.floor(got / EVENT_BYTES);
      for (let e = 0; e < events; e++) {
        const w = e * 8;
        const kind = words[w + 7]!;
        if (kind === 0) return count;
        sink(kind, words[w]! + words[w + 1]! * TWO_32, words[w + 2]! + words[w + 3]! * TWO_32, words[w + 4]! + words[w + 5]! * TWO_32, words[w + 6]!);
        count++;
      }
      if (events < CHUNK_EVENTS) return count;
      position += got;
    }
  } finally {
    closeSync(fd);
  }
}

function lastNonZero(bytes: Uint8Array): number {
  let i = bytes.length - 1;
  while (i >= COMMAND_OFFSET && bytes[i] === 0) i--;
  return i;
}
