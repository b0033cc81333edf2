import { HeapkitError } from "../errors.js";

/**
 * A trace that cannot be read: a malformed line, a bad header, a broken gzip stream or an
 * unreadable file. The message names the file, the line (when there is one) and the reason,
 * as `file:line: reason`; the parts are fields too.
 */
export class TraceFormatError extends HeapkitError {
  override name = "TraceFormatError";
  constructor(readonly file: string, readonly line: number | undefined, readonly reason: string) {
    super(line === undefined ? `${file}: ${reason}` : `${file}:${line}: ${reason}`);
  }
}
