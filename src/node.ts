/** `heapkit/node`: what needs Node's own modules (node:fs, node:zlib, node:stream). */
export { readTraceFile, readTraceStream, STDIN_PATH } from "./trace/reader.js";
