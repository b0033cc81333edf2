/**
 * The simulator tab: a SimSession (the allocator and its ops) wired to the controls, the op log
 * and one HeapPane. Clicking a used block frees it; a drag across free space allocates the
 * dragged size (or type it and press Allocate); the memory-bug buttons make the bugs as ops,
 * so the debug heap's error lands on the op that made it.
 */
import type { HeapSpan } from "heapkit";
import { HeapPane } from "./heap-pane.js";
import { labPolicies, labPolicy } from "./lab-policies.js";
import { SimSession, type OpOutcome, type SimOp } from "./session.js";
import { OpClock, type OpRate, runBudgeted, speedLabel } from "./speed.js";
import { WORKLOAD_NAMES, makeWorkload, type WorkloadName } from "./workloads.js";
import { byId, fillPolicySelect, numberInput } from "./dom.js";

/** The op log lists at most this many of the latest ops. */
const LOG_ROWS = 200;

export class Simulator {
  readonly pane: HeapPane;
  session!: SimSession;
  playing = false;
  private readonly clock = new OpClock();
  /** How long an op took at full speed lately (sizes each frame's first chunk). */
  private readonly rate: OpRate = { msPerOp: 0 };
  private dirty = true;
  private seed = 1;
  private version = 0;
  private logShown = -1;

  constructor() {
    this.pane = new HeapPane(byId("sim-pane"), "Heap", {
      activate: (span, event) => this.onActivate(span, event.shiftKey),
      allocate: (bytes) => this.run({ kind: "malloc", handle: this.session.newHandle(), size: bytes }),
    });
    fillPolicySelect(byId<HTMLSelectElement>("sim-policy"), labPolicies, "heap");
    this.wire();
    this.newHeap();
  }

  /** A fresh heap of the chosen policy and size; the ops are dropped. */
  newHeap(): void {
    const policy = labPolicy(byId<HTMLSelectElement>("sim-policy").value);
    const maxBytes = Number(byId<HTMLSelectElement>("sim-size").value);
    const checked = policy.name === "debug" || policy.name === "hardened";
    this.session = new SimSession(() => policy.create(maxBytes), checked);
    byId("sim-policy-about").textContent = policy.description;
    byId<HTMLFieldSetElement>("bugs").disabled = !checked;
    this.pane.setTitle(`${policy.name}, up to ${byId<HTMLSelectElement>("sim-size").selectedOptions[0]!.text}`);
    this.pane.setAllocator(this.session.allocator);
    this.pause();
    this.changed();
  }

  /** Runs an op now (before the queue) and shows what it did. */
  run(op: SimOp): OpOutcome {
    const outcome = this.session.run(op);
    this.changed();
    return outcome;
  }

  /** Advances by the clock (`budgetMs`: the ops' share of a full-speed frame); returns true when something must be drawn. */
  tick(elapsedMs: number, budgetMs: number): boolean {
    if (this.playing) {
      const due = this.clock.opsThisFrame(Number(byId<HTMLInputElement>("speed").value), elapsedMs);
      runBudgeted(due, (count) => this.session.step(count), () => performance.now(), budgetMs, this.rate);
      if (due !== 0) this.changed();
      if (this.session.pendingCount === 0) this.pause();
    }
    const draw = this.dirty || this.pane.map.needsDraw || this.pane.stale;
    this.dirty = false;
    return draw;
  }

  render(): void {
    this.pane.render();
    this.renderLog();
    const s = this.session;
    byId("sim-progress").textContent = `${s.cursor} ops run, ${s.pendingCount} queued, ${s.liveHandleCount} blocks live`;
  }

  play(): void {
    if (this.session.pendingCount === 0) return;
    this.playing = true;
    this.clock.reset();
    byId("play").textContent = "Pause";
  }

  pause(): void {
    this.playing = false;
    byId("play").textContent = "Play";
  }

  step(): void {
    this.pause();
    this.session.step(1);
    this.changed();
  }

  undo(): void {
    this.pause();
    this.session.undo();
    this.changed();
  }

  /** Queues a workload of the chosen pattern. */
  enqueue(name: WorkloadName, count: number, minBytes: number, maxBytes: number): void {
    const ops = makeWorkload(name, { count, seed: this.seed++, minBytes, maxBytes }, () => this.session.newHandle());
    this.session.enqueue(ops);
    this.changed();
  }

  /** Allocates `count` blocks of `bytes` at once (a big heap for the bench). */
  fill(count: number, bytes: number): void {
    this.pause();
    const ops: SimOp[] = Array.from({ length: count }, () => ({ kind: "malloc", handle: this.session.newHandle(), size: bytes }));
    this.session.clearQueue();
    this.session.enqueue(ops);
    this.session.step(count);
    this.changed();
  }

  private changed(): void {
    if (this.pane.allocator !== this.session.allocator) {
      this.pane.allocator = this.session.allocator;
      this.pane.map.allocator = this.session.allocator;
    }
    this.pane.sample(this.session.cursor);
    this.version++;
    this.dirty = true;
  }

  private onActivate(span: HeapSpan, selectOnly: boolean): void {
    if (selectOnly || span.kind !== "used") return;
    const handle = this.session.handleAt(span.ptr ?? span.start);
    if (handle >= 0) this.run({ kind: "free", handle });
  }

  private selectedHandle(): number {
    const span = this.pane.map.selected;
    if (span === undefined || span.kind !== "used") return -1;
    return this.session.handleAt(span.ptr ?? span.start);
  }

  private allocSize(): number {
    return numberInput("alloc-size");
  }

  /** A live block to misuse: the selected one, else a new one. */
  private victim(): number {
    const selected = this.selectedHandle();
    if (selected >= 0) return selected;
    const handle = this.session.newHandle();
    this.run({ kind: "malloc", handle, size: Math.max(1, this.allocSize()) });
    return handle;
  }

  private makeBug(kind: "double-free" | "overflow" | "uaf"): void {
    this.pause();
    const handle = this.victim();
    if (kind === "overflow") {
      const usable = this.session.allocator.usableSize(this.session.ptrOf(handle));
      this.run({ kind: "write", handle, offset: usable, bytes: 4 });
      return;
    }
    this.run({ kind: "free", handle });
    if (kind === "double-free") this.run({ kind: "free", handle });
    else this.run({ kind: "write", handle, offset: 0, bytes: 4 });
  }

  private renderLog(): void {
    const s = this.session;
    if (this.logShown === this.version) return;
    this.logShown = this.version;
    const list = byId<HTMLOListElement>("op-log");
    const first = Math.max(0, s.cursor - LOG_ROWS);
    const rows: HTMLLIElement[] = [];
    for (let i = s.cursor - 1; i >= first; i--) rows.push(logRow(i, s.ops[i]!, s.outcomes[i]!));
    list.replaceChildren(...rows);
  }

  private wire(): void {
    byId("sim-policy").addEventListener("change", () => this.newHeap());
    byId("sim-size").addEventListener("change", () => this.newHeap());
    byId("alloc").addEventListener("click", () => this.run({ kind: "malloc", handle: this.session.newHandle(), size: this.allocSize() }));
    byId("realloc").addEventListener("click", () => {
      const handle = this.selectedHandle();
      if (handle >= 0) this.run({ kind: "realloc", handle, size: this.allocSize() });
    });
    byId("free-selected").addEventListener("click", () => {
      const handle = this.selectedHandle();
      if (handle >= 0) this.run({ kind: "free", handle });
    });
    byId("enqueue").addEventListener("click", () => {
      const name = byId<HTMLSelectElement>("workload").value as WorkloadName;
      if (!WORKLOAD_NAMES.includes(name)) return;
      this.enqueue(name, numberInput("workload-count"), numberInput("workload-min"), numberInput("workload-max"));
    });
    byId("step").addEventListener("click", () => this.step());
    byId("play").addEventListener("click", () => (this.playing ? this.pause() : this.play()));
    byId("undo").addEventListener("click", () => this.undo());
    const speed = byId<HTMLInputElement>("speed");
    const showSpeed = () => {
      byId("speed-out").textContent = speedLabel(Number(speed.value));
      speed.setAttribute("aria-valuetext", speedLabel(Number(speed.value)));
    };
    speed.addEventListener("input", showSpeed);
    showSpeed();
    byId("bug-double-free").addEventListener("click", () => this.makeBug("double-free"));
    byId("bug-overflow").addEventListener("click", () => this.makeBug("overflow"));
    byId("bug-uaf").addEventListener("click", () => this.makeBug("uaf"));
  }
}

function logRow(index: number, op: SimOp, outcome: OpOutcome): HTMLLIElement {
  const row = document.createElement("li");
  const what =
    op.kind === "malloc" ? `malloc(${op.size}) #${op.handle}`
    : op.kind === "realloc" ? `realloc(#${op.handle}, ${op.size})`
    : op.kind === "free" ? `free(#${op.handle})`
    : `write ${op.bytes} B at #${op.handle}+${op.offset}`;
  row.textContent = `${index}: ${what} → 0x${outcome.ptr.toString(16)}`;
  if (outcome.error !== undefined) {
    row.className = "op-error";
    const error = document.createElement("div");
    error.className = "op-error-text";
    error.textContent = `${outcome.error.name}: ${outcome.error.message}`;
    row.append(error);
  }
  return row;
}
