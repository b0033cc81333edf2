/**
 * Progress of a pool of jobs, on stderr only (stdout stays clean for tables and --json). On a
 * terminal: one bar, redrawn in place and erased at the end. Otherwise: one plain line per
 * finished job, so a log shows what took how long.
 */
const BAR_WIDTH = 30;

export class Progress {
  private done = 0;
  private readonly running = new Set<string>();
  private readonly isTerminal: boolean;

  constructor(private readonly total: number, private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.isTerminal = stream.isTTY === true;
  }

  started(label: string): void {
    this.running.add(label);
    if (this.isTerminal) this.drawBar();
  }

  finished(label: string, elapsedMs: number, status: string): void {
    this.running.delete(label);
    this.done++;
    if (this.isTerminal) this.drawBar();
    else this.stream.write(`[${this.done}/${this.total}] ${label}: ${status} in ${(elapsedMs / 1000).toFixed(1)} s\n`);
  }

  /** Erases the bar (a terminal keeps no trace of it). */
  end(): void {
    if (this.isTerminal) this.stream.write("\r\x1b[2K");
  }

  private drawBar(): void {
    const filled = this.total === 0 ? BAR_WIDTH : Math.round((this.done / this.total) * BAR_WIDTH);
    const bar = `${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}`;
    const line = `[${bar}] ${this.done}/${this.total}  ${[...this.running].join(", ")}`;
    const width = this.stream.columns || 80;
    this.stream.write(`\r\x1b[2K${line.slice(0, width - 1)}`);
  }
}
