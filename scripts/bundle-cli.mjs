// Bundles the `heapkit` command (dist/src/cli, built by tsc) with its dependencies (commander,
// cli-table3) into dist/cli/, so that they are devDependencies and a library user installs none
// of them. The replay worker is an entry of its own (replay-pool.ts loads it from beside itself);
// the code both use is split into shared chunks.
import { readFileSync, rmSync } from "node:fs";
import { build } from "esbuild";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

// A fresh directory: chunk names carry a hash, and the chunks of earlier builds would ship too.
rmSync(new URL("../dist/cli", import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: { heapkit: "dist/src/cli/main.js", "replay-worker": "dist/src/cli/replay-worker.js" },
  outdir: "dist/cli",
  bundle: true,
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  platform: "node",
  format: "esm",
  target: "node20",
  define: { HEAPKIT_VERSION: JSON.stringify(version) },
  // commander and cli-table3 are CommonJS and require() Node's modules; an ESM bundle needs a require.
  banner: { js: 'import { createRequire as __heapkitRequire } from "node:module"; const require = __heapkitRequire(import.meta.url);' },
  logLevel: "warning",
});
