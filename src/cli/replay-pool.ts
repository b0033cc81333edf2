/**
 * Runs replay jobs (one trace under one policy each) on a pool of worker threads, as many as
 * there are jobs or cores, whichever is fewer. Each worker takes the next job when it finishes
 * one; a trace is sent to a worker once and kept there. A worker that dies, or hangs past the
 * time limit (an allocator looping inside one call never reaches the replay's own clock check),
 * fails its job and is replaced, so one crash costs one row, not the run.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { ReplayResult } from "../trace/replay.js";
import type { Trace } from "../trace/trace.js";

export interface ReplayJob {
  traceIndex: number;
  policy: string;
}

/** What the pool posts to a worker. */
export interface JobMessage extends ReplayJob {
  sampleCount: number;
  timeLimitMs: number;
  /** Only with the first job on this trace for this worker. */
  trace?: Trace;
}

/** What a worker posts back: a result, or why there is none. */
export interface JobReply {
  result: ReplayResult | null;
  error: string | null;
}

export interface JobOutcome extends JobReply {
  job: ReplayJob;
  elapsedMs: number;
}

export interface PoolOptions {
  sampleCount: number;
  timeLimitMs: number;
  onStart?(job: ReplayJob): void;
  onDone?(outcome: JobOutcome): void;
}

const WORKER_URL = new URL("./replay-worker.js", import.meta.url);

/** How long past its time limit a job may stay silent before its worker is terminated. */
const HANG_GRACE_MS = 5000;

export async function runReplayJobs(traces: Trace[], jobs: ReplayJob[], options: PoolOptions): Promise<JobOutcome[]> {
  const outcomes: JobOutcome[] = [];
  let next = 0;
  const runLane = async (): Promise<void> => {
    let worker = new ReplayWorker(traces);
    while (next < jobs.length) {
      const index = next++;
      const job = jobs[index]!;
      options.onStart?.(job);
      const start = performance.now();
      const reply = await worker.run(job, options).catch(async (error: Error) => {
        await worker.close();
        worker = new ReplayWorker(traces);
        return { result: null, error: `the worker died: ${error.message}` };
      });
      outcomes[index] = { ...reply, job, elapsedMs: performance.now() - start };
      options.onDone?.(outcomes[index]);
    }
    await worker.close();
  };
  const poolSize = Math.min(jobs.length, availableParallelism());
  await Promise.all(Array.from({ length: poolSize }, runLane));
  return outcomes;
}

/** One worker thread and the traces it already holds. */
class ReplayWorker {
  private readonly worker = new Worker(WORKER_URL);
  private readonly sent = new Set<number>();

  constructor(private readonly traces: Trace[]) {}

  run(job: ReplayJob, { sampleCount, timeLimitMs }: PoolOptions): Promise<JobReply> {
    return new Promise((resolve, reject) => {
      const watchdog = Number.isFinite(timeLimitMs)
        ? setTimeout(() => { settle(); void this.worker.terminate(); reject(new Error(`no answer ${HANG_GRACE_MS / 1000} s past the time limit`)); }, timeLimitMs + HANG_GRACE_MS)
        : undefined;
      const settle = (): void => {
        clearTimeout(watchdog);
        this.worker.off("message", onMessage).off("error", onError).off("exit", onExit);
      };
      const onMessage = (reply: JobReply): void => { settle(); resolve(reply); };
      const onError = (error: Error): void => { settle(); reject(error); };
      const onExit = (code: number): void => { settle(); reject(new Error(`exit code ${code}`)); };
      this.worker.on("message", onMessage).on("error", onError).on("exit", onExit);
      const firstTime = !this.sent.has(job.traceIndex);
      this.sent.add(job.traceIndex);
      const message: JobMessage = { ...job, sampleCount, timeLimitMs, ...(firstTime ? { trace: this.traces[job.traceIndex]! } : {}) };
      this.worker.postMessage(message);
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
