/**
 * Builds native/record/preload.c into a shared library with the machine's C compiler (`$CC`, or
 * `cc`) on first use, cached per user under `$XDG_CACHE_HOME/heapkit` (or `~/.cache/heapkit`),
 * keyed by a hash of the source and the compiler's name, so an edited source is rebuilt.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CompilerNotFoundError, PreloadBuildError } from "./errors.js";

const PRELOAD_PATH = "native/record/preload.c";

/**
 * The library's C source, in the package root: the nearest folder above this module that holds
 * it (this module runs from dist/src/node/record/, or bundled into the CLI in dist/cli/).
 */
function findPreloadSource(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, PRELOAD_PATH))) return path.join(dir, PRELOAD_PATH);
    if (path.dirname(dir) === dir) return path.join(here, "../../../..", PRELOAD_PATH); // the error names where it was looked for
  }
}

export const PRELOAD_SOURCE = findPreloadSource();

const COMPILE_FLAGS = ["-O2", "-shared", "-fPIC", "-Wall"];
const LINK_FLAGS = ["-ldl", "-lpthread"];

export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(homedir(), ".cache");
  return path.join(base, "heapkit");
}

/** The path of the built library, building it first if the cache has none for this source. */
export function preloadLibrary(compiler = process.env.CC || "cc"): string {
  const source = readFileSync(PRELOAD_SOURCE);
  const key = createHash("sha256").update(source).update(compiler).digest("hex").slice(0, 16);
  const dir = cacheDir();
  const library = path.join(dir, `record-preload-${key}.so`);
  if (existsSync(library)) return library;
  mkdirSync(dir, { recursive: true });
  const partial = `${library}.${process.pid}.tmp`;
  const cc = spawnSync(compiler, [...COMPILE_FLAGS, "-o", partial, PRELOAD_SOURCE, ...LINK_FLAGS], { encoding: "utf8" });
  if (cc.error !== undefined) throw new CompilerNotFoundError(compiler);
  if (cc.status !== 0) throw new PreloadBuildError(compiler, `${cc.stdout}${cc.stderr}`.trim());
  renameSync(partial, library); // atomic: a concurrent run sees the whole library or none
  return library;
}
