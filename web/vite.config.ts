/**
 * Builds and serves the lab. "heapkit" resolves to the built package (dist/src/index.js, what
 * `npm run build` makes), as a user's import would: the library's const enums are inlined there
 * by tsc, which a per-file transpiler of src/ cannot do. The traces of ../shared/traces (or of
 * HEAPKIT_TRACES) are copied into the build under traces/, listed in traces/index.json, and served
 * from there by the dev server. Both servers send the cross-origin isolation headers that
 * SharedArrayBuffer needs and listen on 127.0.0.1 only.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));
const tracesDir = process.env.HEAPKIT_TRACES ?? join(here, "..", "..", "shared", "traces");
const isolation = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
};

function traceNames(): string[] {
  if (!existsSync(tracesDir)) return [];
  return readdirSync(tracesDir).filter((name) => /\.rep(\.gz)?$/.test(name)).sort();
}

function bundledTraces(): Plugin {
  return {
    name: "heapkit-bundled-traces",
    configureServer(server) {
      server.middlewares.use("/traces/", (request, response, next) => {
        const name = decodeURIComponent((request.url ?? "").replace(/^\//, "").split("?")[0]!);
        if (name === "index.json") return void response.setHeader("content-type", "application/json").end(JSON.stringify(traceNames()));
        if (!traceNames().includes(name)) return next();
        response.setHeader("content-type", "application/octet-stream");
        response.end(readFileSync(join(tracesDir, name)));
      });
    },
    generateBundle() {
      const names = traceNames();
      if (names.length === 0) this.warn(`no traces in ${tracesDir}: the lab's bundled trace list is empty`);
      this.emitFile({ type: "asset", fileName: "traces/index.json", source: JSON.stringify(names) });
      for (const name of names) this.emitFile({ type: "asset", fileName: `traces/${name}`, source: readFileSync(join(tracesDir, name)) });
    },
  };
}

export default defineConfig({
  root: here,
  base: "./",
  resolve: { alias: { heapkit: fileURLToPath(new URL("../dist/src/index.js", import.meta.url)) } },
  server: { host: "127.0.0.1", port: 5173, headers: isolation },
  preview: { host: "127.0.0.1", port: 4173, headers: isolation },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", reportCompressedSize: true },
  plugins: [bundledTraces()],
});
