/**
 * The lab's entry: two tabs (simulator, trace player), one animation loop that advances the
 * active tab and redraws it when something changed, page-wide keys, and a read-only hook on
 * window (`__heapkitLab`) through which the end-to-end tests and the bench read the allocators'
 * own stats() and drive the page.
 */
import "./style.css";
import { Simulator } from "./simulator.js";
import { TraceLab } from "./trace-lab.js";
import { byId } from "./dom.js";
import { labHook } from "./hook.js";
import { FrameBudget } from "./speed.js";

const simulator = new Simulator();
/** The trace player is made when its tab is first shown: the first load draws the simulator only. */
let traceLab: TraceLab | undefined;
const traces = (): TraceLab => (traceLab ??= new TraceLab());
let mode: "sim" | "trace" = "sim";
let frames = 0;
let last = performance.now();
/** At full speed, the ops' share of a frame, steered by the frame rate. */
const budget = new FrameBudget();
/** Milliseconds spent in the last frames: stepping ops, drawing (for the bench). */
const spent = { stepMs: 0, drawMs: 0, frames: 0 };

function show(next: "sim" | "trace"): void {
  mode = next;
  for (const name of ["sim", "trace"] as const) {
    byId(name).hidden = name !== next;
    byId(`tab-${name}`).setAttribute("aria-selected", String(name === next));
  }
  layout();
}

function layout(): void {
  if (mode === "sim") {
    simulator.pane.layout();
    simulator.render();
  } else {
    for (const side of traces().sides) side.pane.layout();
    traces().render();
  }
}

function frame(now: number): void {
  const elapsed = now - last;
  last = now;
  frames++;
  const t0 = performance.now();
  const opsMs = budget.next(elapsed);
  const draw = mode === "sim" ? simulator.tick(elapsed, opsMs) : traces().tick(elapsed, opsMs);
  const t1 = performance.now();
  if (draw) {
    if (mode === "sim") simulator.render();
    else traces().render();
  }
  const drawMs = performance.now() - t1;
  spent.stepMs += t1 - t0;
  spent.drawMs += drawMs;
  spent.frames++;
  requestAnimationFrame(frame);
}

function onKey(event: KeyboardEvent): void {
  const target = event.target as HTMLElement;
  if (target.matches("input[type=number], input[type=text], select") || event.ctrlKey || event.metaKey || event.altKey) return;
  const sim = mode === "sim";
  const actions: Record<string, () => void> = {
    " ": () => (sim ? (simulator.playing ? simulator.pause() : simulator.play()) : traces().playing ? traces().pause() : traces().play()),
    s: () => (sim ? simulator.step() : (traces().step(1), traces().render())),
    u: () => sim && simulator.undo(),
  };
  const action = actions[event.key];
  if (action === undefined || (event.key === " " && target.matches("button"))) return;
  event.preventDefault();
  action();
}

byId("tab-sim").addEventListener("click", () => show("sim"));
byId("tab-trace").addEventListener("click", () => show("trace"));
window.addEventListener("keydown", onKey);
new ResizeObserver(() => layout()).observe(document.body);
labHook(simulator, traces, () => frames, show, () => ({ ...spent }));
show("sim");
requestAnimationFrame(frame);
