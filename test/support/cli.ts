/** Runs the real `heapkit` binary, as a user would, and collects what it printed. */
import { execFile } from "node:child_process";
import { REPO_ROOT } from "./traces.js";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function heapkit(args: string[], stdin?: Buffer | string): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ["bin/heapkit.js", ...args], { cwd: REPO_ROOT, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
    child.stdin!.end(stdin ?? "");
  });
}
