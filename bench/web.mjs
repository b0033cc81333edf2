/**
 * The lab's bench, in headless Debian chromium (playwright-core):
 *   - first load: navigation start to the lab's first drawn frame, fresh page each time (median of 5)
 *   - bundle: the built JS and CSS, raw and gzipped (the bundled traces are data, counted apart)
 *   - idle rAF rate of the page: the baseline every fps below is a ratio of (measured in the same run)
 *   - a 1M-op trace (python-json-regex, 1,028,895 ops) played at full speed, heap on the left and
 *     best-fit (the default), then buddy, on the right, maps and plots updating, from its start and
 *     again from op 700,000 (on to the peak): frames per second while it plays (10 s, or to its end), ops per second,
 *     the share of the maps' cells repainted
 *   - 1,000,000 live 16-byte blocks in the simulator's heap: zoom and pan, a key per frame
 *
 * It prints the README's table (section "The lab in the browser"), then the worst frames.
 *
 *   npm run bench:web      (needs /usr/bin/chromium or CHROMIUM_PATH)
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { launchChromium, serveLab } from "../web/test/browser.mjs";

const TRACE = "python-json-regex.rep.gz";
const PLAY_SECONDS = 10;
/** The second playback starts here: 180,000 ops before the trace's live bytes peak (after op 879,702). */
const LATE_OP = 700_000;
const ZOOM_PAN_SECONDS = 5;
const LIVE_BLOCKS = 1_000_000;
const LOAD_RUNS = 5;
/** The trace player's right side (the left is the heap): its default, and a second pair. */
const RIGHT_POLICIES = ["best-fit", "buddy"];

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;

function bundleSize() {
  const assets = fileURLToPath(new URL("../web/dist/assets/", import.meta.url));
  let raw = 0;
  let gzip = 0;
  for (const name of readdirSync(assets).filter((file) => /\.(js|css)$/.test(file))) {
    const bytes = readFileSync(join(assets, name));
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
  }
  const html = statSync(fileURLToPath(new URL("../web/dist/index.html", import.meta.url))).size;
  return { raw: raw + html, gzip };
}

async function firstLoadMs(browser, url) {
  const times = [];
  for (let run = 0; run < LOAD_RUNS; run++) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(url);
    await page.waitForFunction(() => window.__heapkitLab !== undefined && window.__heapkitLab.frames() > 0);
    times.push(await page.evaluate(() => performance.now()));
    await page.close();
  }
  return median(times);
}

/**
 * Frames the page draws per second while `body` runs in it for `seconds`, or until `stop` (an
 * expression) is true: rAF counted in the page. `maps` (indices of the hook's painted()) say
 * which maps' repainted cells to report, as a share of their whole frames.
 */
async function framesPerSecond(page, seconds, body = "", stop = "false", maps = []) {
  return page.evaluate(
    ({ seconds, body, stop, maps }) =>
      new Promise((done) => {
        const perFrame = new Function("frame", body);
        const stopped = new Function(`return ${stop};`);
        const hook = window.__heapkitLab;
        const painted = () => hook.painted().filter((_, index) => maps.includes(index));
        const start = performance.now();
        const startFrames = hook.frames();
        const startSpent = hook.timeSpent();
        const startPainted = painted();
        let frame = 0;
        let worst = 0;
        let last = start;
        const tick = (now) => {
          worst = Math.max(worst, now - last);
          last = now;
          if (now - start >= seconds * 1000 || stopped()) {
            const elapsed = (now - start) / 1000;
            const spent = hook.timeSpent();
            const count = spent.frames - startSpent.frames;
            const shares = painted().map((end, i) => (end.cells - startPainted[i].cells) / Math.max(1, (end.draws - startPainted[i].draws) * end.frameCells));
            done({
              fps: (hook.frames() - startFrames) / elapsed,
              seconds: elapsed,
              worstFrameMs: worst,
              frames: frame,
              stepMs: (spent.stepMs - startSpent.stepMs) / count,
              drawMs: (spent.drawMs - startSpent.drawMs) / count,
              repainted: shares.length === 0 ? 0 : shares.reduce((a, b) => a + b, 0) / shares.length,
            });
            return;
          }
          perFrame(frame++);
          requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      }),
    { seconds, body, stop, maps },
  );
}

/** Plays the trace from op `from` (0, or LATE_OP: on to the peak, the biggest heaps, the most spans to walk a frame). */
async function playTrace(page, right, from) {
  await page.click("#tab-trace");
  // Loading first puts both sides at op 0, so the new right side starts there (not replaying to where the last play stopped).
  await page.evaluate((name) => window.__heapkitLab.traceLoad(name), TRACE);
  await page.selectOption("#trace-policy-b", right);
  await page.evaluate((op) => {
    const scrub = document.getElementById("trace-scrub");
    scrub.value = String(op);
    scrub.dispatchEvent(new Event("input"));
  }, from);
  await page.evaluate(() => {
    const speed = document.getElementById("trace-speed");
    speed.value = "6";
    speed.dispatchEvent(new Event("input"));
  });
  const before = await page.evaluate(() => window.__heapkitLab.traceOp());
  await page.click("#trace-play");
  // Counted while the trace plays: a trace that ends sooner stops the count there.
  const result = await framesPerSecond(page, PLAY_SECONDS, "", "!window.__heapkitLab.tracePlaying()", [1, 2]);
  const ops = (await page.evaluate(() => window.__heapkitLab.traceOp())) - before;
  if (await page.evaluate(() => window.__heapkitLab.tracePlaying())) await page.click("#trace-play");
  return { ...result, opsPerSecond: ops / result.seconds, opsPlayed: ops, from: before };
}

async function zoomAndPan(page) {
  await page.click("#tab-sim");
  await page.selectOption("#sim-size", "268435456");
  const fillMs = await page.evaluate((count) => {
    const t0 = performance.now();
    window.__heapkitLab.simFill(count, 16);
    return performance.now() - t0;
  }, LIVE_BLOCKS);
  const live = await page.evaluate(() => window.__heapkitLab.simStats().liveBlocks);
  await page.focus("#sim-pane canvas");
  // Zoom in 8 steps from the whole heap, pan down 16 rows, zoom back out, Page Down, repeat: a key a frame.
  const keys = ["+", "+", "+", "+", "+", "+", "+", "+", ...Array(16).fill("ArrowDown"), "-", "-", "-", "-", "-", "-", "-", "-", "PageDown", "Home"];
  const body = `const keys = ${JSON.stringify(keys)}; document.querySelector("#sim-pane canvas").dispatchEvent(new KeyboardEvent("keydown", { key: keys[frame % keys.length], bubbles: true }));`;
  const result = await framesPerSecond(page, ZOOM_PAN_SECONDS, body, "false", [0]);
  const spans = await page.evaluate(() => window.__heapkitLab.spansDrawn()[0]);
  return { ...result, live, fillMs, spansLastFrame: spans };
}

const browser = await launchChromium();
const lab = await serveLab();
try {
  const bundle = bundleSize();
  const loadMs = await firstLoadMs(browser, lab.url);
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (error) => console.error("page error:", error.message));
  await page.goto(lab.url);
  await page.waitForFunction(() => window.__heapkitLab !== undefined && window.__heapkitLab.frames() > 2);
  const idle = await framesPerSecond(page, 2, "");
  const idleRaf = idle.frames / 2;
  const plays = [];
  for (const from of [0, LATE_OP]) for (const right of RIGHT_POLICIES) plays.push([right, await playTrace(page, right, from)]);
  const zoom = await zoomAndPan(page);
  const loads = loadavg().map((load) => load.toFixed(1)).join(" ");
  const ratio = (fps) => `${fps.toFixed(0)} fps (${(fps / idleRaf).toFixed(2)}x idle)`;
  const playRow = (play) =>
    `${ratio(play.fps)}: ${play.stepMs.toFixed(1)} ms of ops + ${play.drawMs.toFixed(1)} ms of drawing a frame, ` +
    `${(100 * play.repainted).toFixed(1)} % of the map repainted; ${(play.opsPerSecond / 1e6).toFixed(2)} M ops/s`;
  const rows = [
    [`first load, navigation to the first drawn frame (median of ${LOAD_RUNS})`, `${loadMs.toFixed(0)} ms`],
    ["bundle (JS + CSS + HTML, minified; traces apart)", `${kib(bundle.raw)}, ${kib(bundle.gzip)} gzipped`],
    ["the idle page's own frame rate (the baseline)", `${idleRaf.toFixed(0)} fps`],
    ...plays.map(([right, play], index) => [
      index === 0 ? `python-json-regex (1,028,895 ops) at full speed, heap and ${right} side by side`
      : play.from === 0 ? `the same, heap and ${right}`
      : `the same from op ${play.from.toLocaleString("en-US")} (on to the peak, op 879,702), heap and ${right}`,
      playRow(play),
    ]),
    [`${zoom.live.toLocaleString("en-US")} live 16-byte blocks, zoom and pan, a key a frame`, `${ratio(zoom.fps)}, ${zoom.drawMs.toFixed(1)} ms of drawing a frame`],
  ];
  console.log(`machine: ${cpus().length} cores, load average ${loads} (other work shares these cores)\n`);
  console.log("| what | measured |\n| --- | --- |");
  for (const [what, measured] of rows) console.log(`| ${what} | ${measured} |`);
  console.log("");
  for (const [right, play] of plays) {
    console.log(`heap | ${right} from op ${play.from}: ${play.opsPlayed} ops in ${play.seconds.toFixed(1)} s, worst frame ${play.worstFrameMs.toFixed(0)} ms`);
  }
  console.log(`zoom and pan: worst frame ${zoom.worstFrameMs.toFixed(0)} ms, the heap filled in ${zoom.fillMs.toFixed(0)} ms`);
} finally {
  await browser.close();
  await lab.close();
}
