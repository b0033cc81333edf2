/**
 * `window.__heapkitLab`: what the end-to-end tests and the bench read. Each getter returns a copy
 * of the allocator's own stats() (never the panel's numbers), so a test can compare the two.
 */
import type { AllocatorStats } from "heapkit";
import { addressToPoint, rowHeightPx } from "./geometry.js";
import type { Simulator } from "./simulator.js";
import type { TraceLab } from "./trace-lab.js";

export interface LabHook {
  /** Frames drawn since load. */
  frames(): number;
  show(mode: "sim" | "trace"): void;
  simStats(): AllocatorStats;
  simPolicy(): string;
  /** The live blocks' offsets, oldest first. */
  simLivePtrs(): number[];
  /** Where a simulator block is drawn: canvas coordinates of its first byte. */
  simPointOf(ptr: number): { x: number; y: number };
  /** The simulator heap's spans, from its own walk(). */
  simSpans(): { start: number; bytes: number; kind: string; held?: string }[];
  /** Queues `count` allocations of `bytes` and runs them all at once. */
  simFill(count: number, bytes: number): void;
  traceOp(): number;
  traceStats(side: 0 | 1): AllocatorStats | undefined;
  traceLoad(name: string): Promise<void>;
  tracePlaying(): boolean;
  /** Milliseconds spent stepping and drawing, summed over `frames` frames since load. */
  timeSpent(): { stepMs: number; drawMs: number; frames: number };
  /** Times one bare walkInto of the whole region and one map draw of a pane (0 sim, 1 and 2 the trace sides). */
  measureDraw(pane: 0 | 1 | 2): { spans: number; walkMs: number; drawMs: number; renderMs: number };
  /** Per map (simulator, then the trace sides): the first pixel where its last frame differs from a whole paint now, or -1. */
  wholePaintDifferences(): number[];
  /** Spans the maps drew in their last frame. */
  spansDrawn(): number[];
  /** Per map (simulator, then the trace sides): draws so far, the cells they painted, the cells of a whole frame. */
  painted(): { draws: number; cells: number; frameCells: number }[];
}

declare global {
  interface Window {
    __heapkitLab?: LabHook;
  }
}

export function labHook(
  simulator: Simulator,
  traces: () => TraceLab,
  frames: () => number,
  show: (mode: "sim" | "trace") => void,
  timeSpent: () => { stepMs: number; drawMs: number; frames: number },
): void {
  const hook: LabHook = {
    frames,
    timeSpent,
    show,
    simStats: () => ({ ...simulator.session.allocator.stats() }),
    simPolicy: () => simulator.session.allocator.name,
    simLivePtrs: () => simulator.session.liveHandles().map((handle) => simulator.session.ptrOf(handle)),
    simPointOf: (ptr) => pointOf(simulator, ptr),
    simFill: (count, bytes) => simulator.fill(count, bytes),
    simSpans: () =>
      [...simulator.session.allocator.walk()].map(({ start, bytes, kind, held }) => (held === undefined ? { start, bytes, kind } : { start, bytes, kind, held })),
    traceOp: () => traces().opIndex,
    traceStats: (side) => {
      const stats = traces().sides[side].stepper?.allocator.stats();
      return stats === undefined ? undefined : { ...stats };
    },
    traceLoad: (name) => traces().loadBundled(name),
    tracePlaying: () => traces().playing,
    measureDraw: (index) => {
      const pane = index === 0 ? simulator.pane : traces().sides[index - 1]!.pane;
      const allocator = pane.allocator!;
      const t0 = performance.now();
      const spans = allocator.walkInto(() => {});
      const t1 = performance.now();
      pane.map.draw();
      const t2 = performance.now();
      pane.render();
      return { spans, walkMs: t1 - t0, drawMs: t2 - t1, renderMs: performance.now() - t2 };
    },
    wholePaintDifferences: () => [simulator.pane.map, ...traces().sides.map((side) => side.pane.map)].map((map) => map.wholePaintDifference()),
    painted: () => [simulator.pane.map, ...traces().sides.map((side) => side.pane.map)].map((map) => ({ ...map.painted })),
    spansDrawn: () => [simulator.pane.map.spansDrawn, ...traces().sides.map((side) => side.pane.map.spansDrawn)],
  };
  Object.freeze(hook);
  Object.defineProperty(window, "__heapkitLab", { value: hook, writable: false });
}

function pointOf(simulator: Simulator, ptr: number): { x: number; y: number } {
  const map = simulator.pane.map;
  const rect = map.canvas.getBoundingClientRect();
  const point = addressToPoint(map.currentView, ptr);
  return { x: rect.left + point.x + 1, y: rect.top + point.y + rowHeightPx(map.currentView) / 2 };
}
