/**
 * Reads a trace in the browser: gunzips with DecompressionStream when the bytes are gzip, then
 * parses. A `.gz` served with `Content-Encoding: gzip` (as the preview server does) arrives
 * already inflated by the browser, and a picked file arrives as it is: the magic bytes decide.
 */
import { parseTrace, type Trace } from "heapkit";

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

export async function readTrace(bytes: Uint8Array, name: string): Promise<Trace> {
  const plain = bytes[0] === GZIP_MAGIC_0 && bytes[1] === GZIP_MAGIC_1 ? await gunzip(bytes) : bytes;
  return parseTrace(plain, name);
}

async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The traces copied into the build: traces/index.json lists their file names. */
export async function bundledTraceNames(): Promise<string[]> {
  const response = await fetch("./traces/index.json");
  if (!response.ok) return [];
  return (await response.json()) as string[];
}

export async function fetchBundledTrace(name: string): Promise<Trace> {
  const response = await fetch(`./traces/${encodeURIComponent(name)}`);
  if (!response.ok) throw new Error(`trace ${name}: HTTP ${response.status}`);
  return readTrace(new Uint8Array(await response.arrayBuffer()), name);
}
