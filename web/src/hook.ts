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
  /** Queues `count` allocations of `bytes` and runs them all at once. */
  simFill(count: number, bytes: number): void;
  traceOp(): number;
  traceStats(side: 0 | 1): AllocatorStats | undefined;
  traceLoad(name: string): Promise<void>;
  tracePlaying(): boolean;
  /** Spans the maps drew in their last frame. */
  spansDrawn(): number[];
}

declare global {
  interface Window {
    __heapkitLab?: LabHook;
  }
}

export function labHook(simulator: Simulator, traces: TraceLab, frames: () => number, show: (mode: "sim" | "trace") => void): void {
  const hook: LabHook = {
    frames,
    show,
    simStats: () => ({ ...simulator.session.allocator.stats() }),
    simPolicy: () => simulator.session.allocator.name,
    simLivePtrs: () => simulator.session.liveHandles().map((handle) => simulator.session.ptrOf(handle)),
    simPointOf: (ptr) => pointOf(simulator, ptr),
    simFill: (count, bytes) => simulator.fill(count, bytes),
    traceOp: () => traces.opIndex,
    traceStats: (side) => {
      const stats = traces.sides[side].stepper?.allocator.stats();
      return stats === undefined ? undefined : { ...stats };
    },
    traceLoad: (name) => traces.loadBundled(name),
    tracePlaying: () => traces.playing,
    spansDrawn: () => [simulator.pane.map.spansDrawn, ...traces.sides.map((side) => side.pane.map.spansDrawn)],
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
