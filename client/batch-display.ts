/**
 * What `batch` shows while it runs. On a TTY: one progress bar redrawn in place; the pipeline's
 * WARN/ERROR lines are collected (summarised by `finish`) and any other line or notice is
 * printed above the bar, which is then redrawn. Elsewhere: a plain progress line every few
 * seconds and the pipeline's lines passed through, as a log file wants them.
 */
import { prettyLine } from '../common/log.js';
import { ChildLogSummary } from './child-log-summary.js';
import { renderProgressBar, renderProgressLine } from './progress-bar.js';
import type { BatchProgress } from './watch-jobs.js';

export interface DisplayStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const PLAIN_EVERY_MS = 2000;
const CLEAR_LINE = '\r\x1b[K';

export class BatchDisplay {
  readonly tty: boolean;
  private readonly summary = new ChildLogSummary();
  private bar: string | undefined;
  private lastPlainMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly out: DisplayStream,
    private readonly err: DisplayStream,
    private readonly now: () => number = Date.now,
  ) {
    this.tty = out.isTTY === true;
  }

  /** A line of a pipeline process, as launch-stack forwards it. */
  childLine(line: string): void {
    if (!this.tty) {
      this.err.write(`${line}\n`);
      return;
    }
    if (this.summary.add(line)) return;
    // Children log JSON (their stderr is a pipe); on a terminal, show it as a person reads it.
    const bar = line.indexOf('| ');
    this.above(this.err, bar < 0 ? prettyLine(line) : `${line.slice(0, bar + 2)}${prettyLine(line.slice(bar + 2))}`);
  }

  progress(p: BatchProgress): void {
    if (this.tty) {
      // Some pseudo-terminals report 0 columns.
      const columns = this.out.columns !== undefined && this.out.columns > 0 ? this.out.columns : 80;
      this.bar = renderProgressBar(p, columns);
      this.out.write(`${CLEAR_LINE}${this.bar}`);
    } else if (this.now() - this.lastPlainMs >= PLAIN_EVERY_MS) {
      this.lastPlainMs = this.now();
      this.out.write(`${renderProgressLine(p)}\n`);
    }
  }

  /** Something the user must see now (e.g. a task size no executor fits). */
  notice(text: string): void {
    if (this.tty) this.above(this.err, text);
    else this.err.write(`${text}\n`);
  }

  /** Ends the bar's line; returns the summary of collected warnings (empty when none). */
  finish(): string[] {
    if (this.tty && this.bar !== undefined) this.out.write('\n');
    this.bar = undefined;
    return this.summary.lines();
  }

  private above(stream: DisplayStream, text: string): void {
    if (this.bar === undefined) {
      stream.write(`${text}\n`);
      return;
    }
    this.out.write(CLEAR_LINE);
    stream.write(`${text}\n`);
    this.out.write(this.bar);
  }
}
