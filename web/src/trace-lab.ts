/**
 * The trace player: one trace, two policies side by side, stepped together by the same op
 * index. Scrubbing seeks both (backwards replays from the start); "Jump to peak" seeks to just
 * after the op where the trace's live bytes peaked.
 */
import { TraceStepper, type Trace } from "heapkit";
import { HeapPane } from "./heap-pane.js";
import { labPolicies, labPolicy } from "./lab-policies.js";
import { OpClock, type OpRate, runBudgeted, speedLabel } from "./speed.js";
import { bundledTraceNames, fetchBundledTrace, readTrace } from "./trace-file.js";
import { byId, fillPolicySelect } from "./dom.js";
import { formatBytes, formatCount } from "./format.js";

interface Side {
  pane: HeapPane;
  select: HTMLSelectElement;
  stepper?: TraceStepper;
}

/**
 * Fewer, smaller checkpoints than the stepper's default: copying the store costs playback time,
 * and a backward scrub replays at most opCount / 16 ops from the one before.
 */
const CHECKPOINTS = 16;
const MIN_CHECKPOINT_EVERY = 65536;
const CHECKPOINT_BUDGET_BYTES = 64 * 2 ** 20;

function checkpointsFor(trace: Trace): { checkpointEvery: number; checkpointBudgetBytes: number } {
  return { checkpointEvery: Math.max(MIN_CHECKPOINT_EVERY, Math.ceil(trace.opCount / CHECKPOINTS)), checkpointBudgetBytes: CHECKPOINT_BUDGET_BYTES };
}

export class TraceLab {
  readonly sides: [Side, Side];
  trace: Trace | undefined;
  playing = false;
  private readonly clock = new OpClock();
  /** How long an op took at full speed lately (sizes each frame's first chunk). */
  private readonly rate: OpRate = { msPerOp: 0 };
  private dirty = false;

  constructor() {
    this.sides = [
      { pane: new HeapPane(byId("trace-pane-a"), "Left"), select: byId<HTMLSelectElement>("trace-policy-a") },
      { pane: new HeapPane(byId("trace-pane-b"), "Right"), select: byId<HTMLSelectElement>("trace-policy-b") },
    ];
    const replaying = labPolicies.filter((policy) => policy.canFree);
    fillPolicySelect(this.sides[0].select, replaying, "heap");
    fillPolicySelect(this.sides[1].select, replaying, "best-fit");
    this.wire();
    void this.listBundled();
  }

  get opIndex(): number {
    return this.sides[0].stepper?.opIndex ?? 0;
  }

  load(trace: Trace): void {
    this.trace = trace;
    const scrub = byId<HTMLInputElement>("trace-scrub");
    scrub.max = String(trace.opCount);
    scrub.value = "0";
    for (const side of this.sides) this.restart(side, 0);
    this.status(`${trace.name}: ${formatCount(trace.opCount)} ops, ${formatCount(trace.idCount)} ids, peak live ${formatBytes(trace.peakLiveBytes)} after op ${formatCount(trace.peakLiveOp)}`);
    this.changed();
  }

  async loadBundled(name: string): Promise<void> {
    this.status(`loading ${name}…`);
    this.load(await fetchBundledTrace(name));
  }

  async loadBytes(bytes: Uint8Array, name: string): Promise<void> {
    try {
      this.load(await readTrace(bytes, name));
    } catch (error) {
      this.status(`${name}: ${(error as Error).message}`);
    }
  }

  /** Both sides to just before op `op`. */
  seek(op: number): void {
    for (const side of this.sides) this.guard(side, () => side.stepper?.seek(op));
    this.changed();
  }

  step(count: number): number {
    let ran = 0;
    for (const side of this.sides) this.guard(side, () => (ran = Math.max(ran, side.stepper?.step(count) ?? 0)));
    return ran;
  }

  jumpToPeak(): void {
    if (this.trace !== undefined) this.seek(this.trace.peakLiveOp + 1);
  }

  play(): void {
    if (this.trace === undefined) return;
    this.playing = true;
    this.clock.reset();
    byId("trace-play").textContent = "Pause";
  }

  pause(): void {
    this.playing = false;
    byId("trace-play").textContent = "Play";
  }

  /** Advances by the clock (`budgetMs`: the ops' share of a full-speed frame); returns true when something must be drawn. */
  tick(elapsedMs: number, budgetMs: number): boolean {
    if (this.playing && this.trace !== undefined) {
      const due = this.clock.opsThisFrame(Number(byId<HTMLInputElement>("trace-speed").value), elapsedMs);
      const ran = runBudgeted(due, (count) => this.step(count), () => performance.now(), budgetMs, this.rate);
      if (ran > 0 || due !== 0) this.changed();
      if ((due > 0 && ran === 0) || this.opIndex >= this.trace.opCount) this.pause();
    }
    const draw = this.dirty || this.sides.some((side) => side.pane.map.needsDraw || side.pane.stale);
    this.dirty = false;
    return draw;
  }

  render(): void {
    for (const side of this.sides) side.pane.render();
    const count = this.trace?.opCount ?? 0;
    byId<HTMLInputElement>("trace-scrub").value = String(this.opIndex);
    byId("trace-position").textContent = `op ${formatCount(this.opIndex)} of ${formatCount(count)}`;
  }

  /** A fresh stepper for a side (its policy changed, or a new trace), brought to op `target`. */
  private restart(side: Side, target: number): void {
    const trace = this.trace;
    if (trace === undefined) return;
    const policy = labPolicy(side.select.value);
    const maxBytes = Number(byId<HTMLSelectElement>("trace-size").value);
    side.stepper = new TraceStepper(trace, () => policy.create(maxBytes), checkpointsFor(trace));
    side.pane.setTitle(policy.name);
    side.pane.setAllocator(side.stepper.allocator);
    this.guard(side, () => side.stepper!.seek(target));
  }

  /** Runs a stepper call; a side whose replay failed stops there and says why, the other goes on. */
  private guard(side: Side, run: () => void): void {
    const stepper = side.stepper;
    if (stepper === undefined) return;
    run();
    const failure = stepper.failure;
    side.pane.setTitle(failure === null ? side.select.value : `${side.select.value}: stopped at op ${failure.op}: ${failure.message}`);
    if (side.pane.allocator !== stepper.allocator) {
      side.pane.allocator = stepper.allocator;
      side.pane.map.allocator = stepper.allocator;
    }
    side.pane.series.truncateAfter(stepper.opIndex);
  }

  private changed(): void {
    for (const side of this.sides) if (side.stepper !== undefined) side.pane.sample(side.stepper.opIndex);
    this.dirty = true;
  }

  private status(text: string): void {
    byId("trace-status").textContent = text;
  }

  private async listBundled(): Promise<void> {
    const select = byId<HTMLSelectElement>("trace-bundled");
    for (const name of await bundledTraceNames()) select.append(new Option(name, name));
  }

  private wire(): void {
    const bundled = byId<HTMLSelectElement>("trace-bundled");
    bundled.addEventListener("change", () => bundled.value !== "" && void this.loadBundled(bundled.value));
    byId<HTMLInputElement>("trace-file").addEventListener("change", async (event) => {
      const file = (event.target as HTMLInputElement).files?.[0];
      if (file !== undefined) await this.loadBytes(new Uint8Array(await file.arrayBuffer()), file.name);
    });
    const drop = byId("trace");
    drop.addEventListener("dragover", (event) => event.preventDefault());
    drop.addEventListener("drop", async (event) => {
      event.preventDefault();
      const file = event.dataTransfer?.files[0];
      if (file !== undefined) await this.loadBytes(new Uint8Array(await file.arrayBuffer()), file.name);
    });
    for (const side of this.sides) side.select.addEventListener("change", () => (this.restart(side, this.opIndex), this.changed()));
    byId("trace-size").addEventListener("change", () => {
      const at = this.opIndex;
      for (const side of this.sides) this.restart(side, at);
      this.changed();
    });
    byId("trace-play").addEventListener("click", () => (this.playing ? this.pause() : this.play()));
    byId("trace-step").addEventListener("click", () => (this.pause(), this.step(1), this.changed()));
    byId("trace-peak").addEventListener("click", () => (this.pause(), this.jumpToPeak()));
    byId<HTMLInputElement>("trace-scrub").addEventListener("input", (event) => {
      this.pause();
      this.seek(Number((event.target as HTMLInputElement).value));
    });
    const speed = byId<HTMLInputElement>("trace-speed");
    const showSpeed = () => (byId("trace-speed-out").textContent = speedLabel(Number(speed.value)));
    speed.addEventListener("input", showSpeed);
    showSpeed();
  }
}
