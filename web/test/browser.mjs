/**
 * Shared by the end-to-end test and the bench: serves the built lab (web/dist) with Vite's
 * preview server on 127.0.0.1 and a free port, and starts Debian's chromium through
 * playwright-core with the flags a closed network needs (on a new empty profile). Never downloads a browser.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { preview } from "vite";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const configFile = fileURLToPath(new URL("../vite.config.ts", import.meta.url));

const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-extensions",
];

/** Serves web/dist; returns its URL and a close function. */
export async function serveLab() {
  const dist = fileURLToPath(new URL("../dist/index.html", import.meta.url));
  if (!existsSync(dist)) throw new Error(`no build at ${dist}: run npm run build:web first`);
  const server = await preview({ configFile, preview: { port: 0, host: "127.0.0.1", strictPort: false }, logLevel: "warn" });
  const address = server.httpServer.address();
  return { url: `http://127.0.0.1:${address.port}/`, close: () => new Promise((done) => server.httpServer.close(done)) };
}

/** Starts headless chromium; fails with a clear message when it is not installed. */
export async function launchChromium() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`chromium not found at ${CHROMIUM}: install Debian's package (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
  // playwright starts chromium on a new, empty profile of its own each time.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}
