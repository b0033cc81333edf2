/**
 * Errors of reading a process's memory map. Each names the process and the file, so a caller
 * can tell a process that is gone from one it may not read without parsing messages.
 */
import { HeapkitError, show } from "../errors.js";

export class ProcMapsError extends HeapkitError {
  override name = "ProcMapsError";
}

/** A PID that is not a positive integer (the CLI's argument, or a caller's). */
export class InvalidPidError extends ProcMapsError {
  override name = "InvalidPidError";
  constructor(readonly pid: unknown) {
    super(`invalid PID ${show(pid)}: expected a positive integer`);
  }
}

/** No such process (it never existed, or it has exited): /proc/PID is missing. */
export class ProcessNotFoundError extends ProcMapsError {
  override name = "ProcessNotFoundError";
  constructor(readonly pid: number, readonly file: string) {
    super(`no process ${pid}: ${file} does not exist (the process never existed or has exited)`);
  }
}

/**
 * The process exists but has no address space to show: a kernel thread (it runs in the
 * kernel's) or a zombie (it has exited; its parent has not collected its exit status yet).
 */
export class NoAddressSpaceError extends ProcMapsError {
  override name = "NoAddressSpaceError";
  constructor(readonly pid: number, readonly zombie: boolean) {
    super(`process ${pid} has no memory map: ${zombie ? "it is a zombie (it has exited; its parent has not collected it yet)" : "it is a kernel thread"}`);
  }
}

/**
 * The process exists but its map may not be read: the kernel lets only a reader that may ptrace
 * it read maps and smaps (its owner, or root with CAP_SYS_PTRACE; Yama or a container may refuse
 * even those).
 */
export class ProcessAccessError extends ProcMapsError {
  override name = "ProcessAccessError";
  constructor(readonly pid: number, readonly file: string, readonly code: string) {
    super(`cannot read ${file} (${code}): the kernel lets only a process that may ptrace ${pid} read its map (its owner, or root; a sandbox may allow only its own descendants)`);
  }
}

/** A line of maps or smaps that does not have the kernel's format. */
export class ProcMapsFormatError extends ProcMapsError {
  override name = "ProcMapsFormatError";
  constructor(readonly file: string, readonly line: number, readonly text: string) {
    super(`${file}:${line}: not a maps/smaps line: ${JSON.stringify(text.slice(0, 80))}`);
  }
}
