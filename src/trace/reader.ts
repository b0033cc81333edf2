/**
 * Reading traces from files and streams (Node): plain or gzip, told apart by the magic bytes,
 * streamed chunk by chunk into the parser so a big trace never exists as one string.
 */
import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { TraceFormatError } from "./errors.js";
import { TraceParser, isGzip } from "./parser.js";
import type { OpSink, Trace, TraceSummary } from "./trace.js";

/** The name `-` reads standard input. */
export const STDIN_PATH = "-";

/** Bytes per read and per gunzip output chunk: big enough that per-chunk costs vanish. */
const CHUNK_BYTES = 1 << 20;

/** Reads a trace file (or stdin for `-`); throws `TraceFormatError` for anything unreadable. */
export function readTraceFile(path: string): Promise<Trace> {
  if (path === STDIN_PATH) return readTraceStream(process.stdin, "<stdin>");
  return readTraceStream(createReadStream(path, { highWaterMark: CHUNK_BYTES }), path);
}

/** Reads a trace from a stream, plain or gzipped (sniffed), naming it `name` in errors. */
export async function readTraceStream(input: Readable, name: string): Promise<Trace> {
  const parser = new TraceParser(name);
  await feed(parser, input, name);
  return parser.finish();
}

/**
 * Streams a trace file (or stdin for `-`) through `sink`, op by op, keeping no op in memory;
 * returns what the trace says of itself. Throws `TraceFormatError` as `readTraceFile` does.
 */
export async function streamTraceFile(path: string, sink: OpSink): Promise<TraceSummary> {
  const name = path === STDIN_PATH ? "<stdin>" : path;
  const input = path === STDIN_PATH ? process.stdin : createReadStream(path, { highWaterMark: CHUNK_BYTES });
  const parser = new TraceParser(name, sink);
  await feed(parser, input, name);
  return parser.finishSummary();
}

async function feed(parser: TraceParser, input: Readable, name: string): Promise<void> {
  const chunks = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const sink = async (source: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of source) parser.push(chunk);
  };
  try {
    const head = await readHead(chunks);
    const source = replay(head, chunks);
    if (isGzip(head)) await pipeline(source, createGunzip({ chunkSize: CHUNK_BYTES }), sink);
    else await pipeline(source, sink);
  } catch (error) {
    throw asTraceError(error, name);
  }
}

/** The first chunks, until there are enough bytes to see the magic number (or the input ends). */
async function readHead(chunks: AsyncIterator<Buffer>): Promise<Buffer> {
  let head = Buffer.alloc(0);
  while (head.length < 2) {
    const next = await chunks.next();
    if (next.done) break;
    head = Buffer.concat([head, next.value]);
  }
  return head;
}

async function* replay(head: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  if (head.length > 0) yield head;
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
}

function asTraceError(error: unknown, name: string): unknown {
  if (error instanceof TraceFormatError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code !== "string") return error;
  const message = (error as Error).message;
  if (code.startsWith("Z_")) return new TraceFormatError(name, undefined, `broken gzip data: ${message}`);
  return new TraceFormatError(name, undefined, `cannot read the file: ${message}`);
}
