/** What can stop `heapkit record`: each a HeapkitError naming what was missing or went wrong. */
import { HeapkitError } from "../../errors.js";

export class RecordError extends HeapkitError {
  override name = "RecordError";
}

/** No C compiler to build the LD_PRELOAD library with. */
export class CompilerNotFoundError extends RecordError {
  override name = "CompilerNotFoundError";
  constructor(readonly compiler: string) {
    super(`no C compiler: ${JSON.stringify(compiler)} could not be run (install one, e.g. apt-get install gcc, or set CC)`);
  }
}

/** The compiler ran but the library did not build. */
export class PreloadBuildError extends RecordError {
  override name = "PreloadBuildError";
  constructor(readonly compiler: string, readonly output: string) {
    super(`${compiler} could not build the recorder's LD_PRELOAD library:\n${output}`);
  }
}

/** An events file the preload library did not write, or one cut off inside its header. */
export class EventsFileError extends RecordError {
  override name = "EventsFileError";
  constructor(readonly file: string, reason: string) {
    super(`${file}: ${reason}`);
  }
}
