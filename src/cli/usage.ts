/**
 * Exit codes and the error for bad usage. 0: success; 1: a failure was found (a replay ran out
 * of memory, a block lost its contents, an allocator threw); 2: bad usage or bad input (unknown
 * option or allocator, unreadable or malformed trace).
 */
import { InvalidArgumentError, Option } from "commander";
import { HeapkitError } from "../errors.js";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A request the CLI cannot carry out as asked: reported in one line, exit code 2. */
export class UsageError extends HeapkitError {
  override name = "UsageError";
}

/** Seconds each (trace, allocator) job of compare and report may run; 0 means no limit. */
export const DEFAULT_TIME_LIMIT_SECONDS = 5;

/** `--time-limit <seconds>` of compare and report, parsed to milliseconds (Infinity for none). */
export function timeLimitOption(): Option {
  return new Option("-t, --time-limit <seconds>", "stop a job (one trace, one allocator) that runs longer, and list it as too slow; 0: no limit")
    .argParser(parseTimeLimit)
    .default(DEFAULT_TIME_LIMIT_SECONDS * 1000, `${DEFAULT_TIME_LIMIT_SECONDS} s`);
}

function parseTimeLimit(value: string): number {
  const seconds = Number(value);
  if (value.trim() === "" || !(seconds >= 0)) throw new InvalidArgumentError("expected a number of seconds (0: no limit)");
  return seconds === 0 ? Infinity : seconds * 1000;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
