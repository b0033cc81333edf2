/**
 * End-to-end test of the lab in Debian's chromium (playwright-core, no browser download): loads
 * the built lab, allocates and frees by clicking, compares every number shown with the
 * allocator's own stats() (read through window.__heapkitLab), makes a double free on the debug
 * heap and sees the error at its op, loads a bundled trace, scrubs it and jumps to the peak, and
 * fails on any console error. Screenshots go to web/artefacts/ (gitignored).
 *
 *   npm run test:e2e        (builds the lab first; needs /usr/bin/chromium or CHROMIUM_PATH)
 */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { launchChromium, serveLab } from "./browser.mjs";

const artefacts = fileURLToPath(new URL("../artefacts/", import.meta.url));
mkdirSync(artefacts, { recursive: true });

const steps = [];
const step = (name, run) => steps.push({ name, run });

/** Waits until every stat cell of a pane shows what the allocator's stats() says. */
async function expectPaneMatchesStats(page, paneSelector, readStats) {
  let last;
  for (let attempt = 0; attempt < 50; attempt++) {
    const [shown, stats] = await page.evaluate(
      async ({ paneSelector, readStats }) => {
        await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
        const cells = [...document.querySelectorAll(`${paneSelector} dd[data-stat]`)];
        const shown = Object.fromEntries(cells.map((cell) => [cell.dataset.stat, cell.dataset.value]));
        const hook = window.__heapkitLab;
        return [shown, readStats === "sim" ? hook.simStats() : hook.traceStats(readStats === "traceA" ? 0 : 1)];
      },
      { paneSelector, readStats },
    );
    const mismatched = Object.keys(stats).filter((key) => key in shown && shown[key] !== String(stats[key]));
    last = { shown, stats, mismatched };
    if (mismatched.length === 0 && Object.keys(shown).length > 0) return stats;
    await page.waitForTimeout(50);
  }
  assert.fail(`${paneSelector} shows other numbers than stats(): ${JSON.stringify(last)}`);
}

step("the lab loads with no console errors and shows the heap", async (page) => {
  await page.waitForFunction(() => window.__heapkitLab !== undefined && window.__heapkitLab.frames() > 2);
  assert.equal(await page.evaluate(() => window.crossOriginIsolated), true, "COOP/COEP make the page cross-origin isolated");
  assert.equal(await page.evaluate(() => window.__heapkitLab.simPolicy()), "heap");
  await expectPaneMatchesStats(page, "#sim-pane", "sim");
});

step("allocating by typing a size and clicking Allocate adds blocks; the panel matches stats()", async (page) => {
  await page.fill("#alloc-size", "100");
  for (let i = 0; i < 3; i++) await page.click("#alloc");
  await page.fill("#alloc-size", "3000");
  await page.click("#alloc");
  const stats = await expectPaneMatchesStats(page, "#sim-pane", "sim");
  assert.equal(stats.liveBlocks, 4);
  assert.equal(stats.liveBytes, 3300);
  await page.screenshot({ path: `${artefacts}sim-allocated.png` });
});

step("clicking a used block on the map frees it", async (page) => {
  const ptrs = await page.evaluate(() => window.__heapkitLab.simLivePtrs());
  const point = await page.evaluate((ptr) => window.__heapkitLab.simPointOf(ptr), ptrs[1]);
  await page.mouse.move(point.x, point.y);
  await page.waitForSelector(".map-tooltip:not([hidden])");
  const tooltip = await page.textContent(".map-tooltip");
  assert.match(tooltip, /^used at 0x/, tooltip);
  assert.match(tooltip, /asked 100 bytes/, tooltip);
  await page.mouse.click(point.x, point.y);
  const stats = await expectPaneMatchesStats(page, "#sim-pane", "sim");
  assert.equal(stats.liveBlocks, 3);
  assert.deepEqual(await page.evaluate(() => window.__heapkitLab.simLivePtrs()), [ptrs[0], ptrs[2], ptrs[3]]);
  assert.match(await page.textContent("#op-log li:first-child"), /^4: free\(#1\)/);
});

step("undo brings the freed block back (the free goes back to the queue); a queued workload plays to its end", async (page) => {
  await page.click("#undo");
  assert.equal((await expectPaneMatchesStats(page, "#sim-pane", "sim")).liveBlocks, 4);
  assert.match(await page.textContent("#sim-progress"), /4 ops run, 1 queued/);
  await page.selectOption("#workload", "coalescing");
  await page.click("#enqueue");
  await page.evaluate(() => {
    const speed = document.getElementById("speed");
    speed.value = "6";
    speed.dispatchEvent(new Event("input"));
  });
  await page.click("#play");
  await page.waitForFunction(() => /0 queued/.test(document.getElementById("sim-progress").textContent));
  const stats = await expectPaneMatchesStats(page, "#sim-pane", "sim");
  assert.equal(stats.liveBlocks, 3, "the undone free ran again, and the coalescing pattern frees all it allocated");
  await page.screenshot({ path: `${artefacts}sim-workload.png` });
});

step("the keyboard reaches the map: zoom in with +, select with ], free with Enter", async (page) => {
  await page.focus("#sim-pane canvas");
  for (let i = 0; i < 4; i++) await page.keyboard.press("+");
  await page.keyboard.press("Home");
  const before = (await expectPaneMatchesStats(page, "#sim-pane", "sim")).liveBlocks;
  // Walk right until a used block is selected, then free it.
  for (let i = 0; i < 64; i++) {
    await page.keyboard.press("]");
    if (/^used/.test((await page.textContent("#sim-pane .hex-title")) ?? "")) break;
  }
  await page.keyboard.press("Enter");
  assert.equal((await expectPaneMatchesStats(page, "#sim-pane", "sim")).liveBlocks, before - 1);
  await page.keyboard.press("u");
  assert.equal((await expectPaneMatchesStats(page, "#sim-pane", "sim")).liveBlocks, before);
});

step("dragging across free space allocates the dragged size where the policy puts it; Esc cancels a drag", async (page) => {
  const before = await expectPaneMatchesStats(page, "#sim-pane", "sim");
  const ptrsBefore = await page.evaluate(() => window.__heapkitLab.simLivePtrs());
  const spans = await page.evaluate(() => window.__heapkitLab.simSpans());
  const last = spans.at(-1);
  // The widest reusable hole, or the committed bytes past the last span.
  const hole = spans.filter((span) => span.kind === "free" && span.held === undefined).sort((a, b) => b.bytes - a.bytes)[0];
  const from = hole !== undefined && hole.bytes >= 4096 ? hole.start + 64 : last.start + last.bytes + 64;
  const press = await page.evaluate((address) => window.__heapkitLab.simPointOf(address), from);
  const release = await page.evaluate((address) => window.__heapkitLab.simPointOf(address), from + 1200);
  const drag = async (finish) => {
    await page.mouse.move(press.x, press.y);
    await page.mouse.down();
    await page.mouse.move((press.x + release.x) / 2, (press.y + release.y) / 2, { steps: 3 });
    await page.mouse.move(release.x, release.y, { steps: 3 });
    const label = await page.textContent(".map-tooltip:not([hidden])");
    await finish();
    return label;
  };
  const cancelled = await drag(async () => {
    await page.keyboard.press("Escape");
    await page.mouse.up();
  });
  assert.match(cancelled, /^allocate [\d,]+ bytes/, cancelled);
  assert.equal((await expectPaneMatchesStats(page, "#sim-pane", "sim")).liveBlocks, before.liveBlocks, "Esc cancelled the drag");
  const label = await drag(async () => {
    await page.screenshot({ path: `${artefacts}sim-drag-allocate.png` });
    await page.mouse.up();
  });
  const bytes = Number(/^allocate ([\d,]+) bytes/.exec(label)[1].replaceAll(",", ""));
  assert.ok(bytes >= 1000 && bytes <= 1400, `dragged ${bytes} bytes (${label})`);
  const after = await expectPaneMatchesStats(page, "#sim-pane", "sim");
  assert.equal(after.liveBlocks, before.liveBlocks + 1);
  assert.equal(after.liveBytes, before.liveBytes + bytes, "the block has the dragged size");
  const added = (await page.evaluate(() => window.__heapkitLab.simLivePtrs())).filter((ptr) => !ptrsBefore.includes(ptr));
  assert.equal(added.length, 1);
  const logged = await page.textContent("#op-log li:first-child");
  assert.match(logged, new RegExp(`^\\d+: malloc\\(${bytes}\\) #\\d+ → 0x${added[0].toString(16)}$`), logged);
  const block = (await page.evaluate(() => window.__heapkitLab.simSpans())).find((span) => span.kind === "used" && span.start <= added[0] && added[0] < span.start + span.bytes);
  assert.ok(block !== undefined && block.bytes >= bytes, "the walk shows the new block where malloc put it");
});

step("a double free on the debug heap shows the error at the op that made it", async (page) => {
  await page.selectOption("#sim-policy", "debug");
  assert.match(await page.evaluate(() => window.__heapkitLab.simPolicy()), /^debug/);
  await page.fill("#alloc-size", "48");
  await page.click("#bug-double-free");
  const error = page.locator("#op-log li.op-error").first();
  await error.waitFor();
  const text = await error.textContent();
  assert.match(text, /^2: free\(#0\)/, text);
  assert.match(text, /DoubleFree/, text);
  await page.click("#bug-overflow");
  await page.locator("#op-log li.op-error", { hasText: "Overflow" }).first().waitFor();
  await expectPaneMatchesStats(page, "#sim-pane", "sim");
  await page.screenshot({ path: `${artefacts}debug-double-free.png` });
  // A fresh debug heap: a write after free is caught by the check after the write, and the freed block is held in quarantine.
  await page.selectOption("#sim-policy", "hardened");
  await page.selectOption("#sim-policy", "debug");
  await page.click("#bug-uaf");
  const uaf = page.locator("#op-log li.op-error", { hasText: "UseAfterFree" }).first();
  await uaf.waitFor();
  assert.match(await uaf.textContent(), /^2: write 4 B at #0\+0/);
  await page.waitForFunction(() => Number(document.querySelector('#sim-pane dd[data-stat="heldBytes"]').dataset.value) > 0);
  await page.screenshot({ path: `${artefacts}debug-write-after-free.png` });
});

step("a bundled trace loads, scrubs, jumps to its peak; both sides match their stats()", async (page) => {
  await page.click("#tab-trace");
  const names = await page.$$eval("#trace-bundled option", (options) => options.map((option) => option.value).filter(Boolean));
  assert.ok(names.includes("git-log-p.rep.gz"), `bundled traces: ${names}`);
  await page.selectOption("#trace-bundled", "git-log-p.rep.gz");
  await page.waitForFunction(() => /117,382 ops|11\d,\d{3} ops/.test(document.getElementById("trace-status").textContent));
  await page.evaluate(() => {
    const scrub = document.getElementById("trace-scrub");
    scrub.value = "50000";
    scrub.dispatchEvent(new Event("input"));
  });
  assert.equal(await page.evaluate(() => window.__heapkitLab.traceOp()), 50000);
  await expectPaneMatchesStats(page, "#trace-pane-a", "traceA");
  await expectPaneMatchesStats(page, "#trace-pane-b", "traceB");
  await page.evaluate(() => {
    const scrub = document.getElementById("trace-scrub");
    scrub.value = "20000";
    scrub.dispatchEvent(new Event("input"));
  });
  assert.equal(await page.evaluate(() => window.__heapkitLab.traceOp()), 20000, "scrubbing back");
  await expectPaneMatchesStats(page, "#trace-pane-a", "traceA");
  await page.click("#trace-peak");
  const peakOp = await page.evaluate(() => window.__heapkitLab.traceOp());
  const status = await page.textContent("#trace-status");
  const peakAfter = Number(/after op ([\d,]+)/.exec(status)[1].replaceAll(",", ""));
  assert.equal(peakOp, peakAfter + 1);
  const atPeak = await expectPaneMatchesStats(page, "#trace-pane-a", "traceA");
  assert.ok(atPeak.liveBytes >= 7_000_000, `live bytes at the peak ${atPeak.liveBytes}`);
  await expectPaneMatchesStats(page, "#trace-pane-b", "traceB");
  await page.screenshot({ path: `${artefacts}trace-peak.png`, fullPage: true });
});

step("played at full speed, each map's frame (repainted where spans changed) equals a whole paint, pixel for pixel", async (page) => {
  await page.evaluate(() => {
    const scrub = document.getElementById("trace-scrub");
    scrub.value = "0";
    scrub.dispatchEvent(new Event("input"));
  });
  await page.click("#trace-play");
  await page.waitForFunction(() => window.__heapkitLab.traceOp() >= 30000);
  if (await page.evaluate(() => window.__heapkitLab.tracePlaying())) await page.click("#trace-play");
  const painted = await page.evaluate(() => window.__heapkitLab.painted());
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  assert.deepEqual((await page.evaluate(() => window.__heapkitLab.wholePaintDifferences())).slice(1), [-1, -1]);
  for (const side of [1, 2]) {
    assert.ok(painted[side].cells < painted[side].draws * painted[side].frameCells, `map ${side} repainted only part of some frames: ${JSON.stringify(painted[side])}`);
  }
  await expectPaneMatchesStats(page, "#trace-pane-a", "traceA");
  await expectPaneMatchesStats(page, "#trace-pane-b", "traceB");
});

const browser = await launchChromium();
const lab = await serveLab();
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
const consoleErrors = [];
page.on("console", (message) => message.type() === "error" && consoleErrors.push(message.text()));
page.on("pageerror", (error) => consoleErrors.push(String(error)));
let passed = 0;
let failed = 0;
try {
  await page.goto(lab.url);
  for (const { name, run } of steps) {
    try {
      await run(page);
      assert.deepEqual(consoleErrors, [], "console errors");
      passed++;
      console.log(`ok - ${name}`);
    } catch (error) {
      failed++;
      console.log(`not ok - ${name}\n  ${String(error.stack ?? error).replaceAll("\n", "\n  ")}`);
      await page.screenshot({ path: `${artefacts}failed-${passed + failed}.png`, fullPage: true }).catch(() => {});
    }
  }
} finally {
  await browser.close();
  await lab.close();
}
console.log(`screenshots in ${artefacts}`);
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
