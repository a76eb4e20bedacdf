/**
 * Decides which of a run of repeated errors (a connection retrying every second or two while
 * its server is down) are worth a log line: the first, then at most one summary per interval,
 * and the recovery once. Pure: the caller passes the clock and writes the lines.
 */
export type ErrorVerdict =
  | { kind: 'first' }
  /** `count` errors since the last line, over `windowMs`. */
  | { kind: 'summary'; count: number; windowMs: number }
  | { kind: 'quiet' };

export interface Recovery {
  /** Errors since the first one of this run. */
  errors: number;
  downMs: number;
}

export class RepeatLimiter {
  private failingSinceMs: number | undefined;
  private lastLineMs = 0;
  private unreported = 0;
  private total = 0;

  constructor(readonly intervalMs: number) {}

  get failing(): boolean {
    return this.failingSinceMs !== undefined;
  }

  error(nowMs: number): ErrorVerdict {
    if (this.failingSinceMs === undefined) {
      this.failingSinceMs = nowMs;
      this.lastLineMs = nowMs;
      this.total = 1;
      this.unreported = 0;
      return { kind: 'first' };
    }
    this.total++;
    this.unreported++;
    if (nowMs - this.lastLineMs < this.intervalMs) return { kind: 'quiet' };
    const verdict: ErrorVerdict = { kind: 'summary', count: this.unreported, windowMs: nowMs - this.lastLineMs };
    this.lastLineMs = nowMs;
    this.unreported = 0;
    return verdict;
  }

  /** The run of errors that just ended, or undefined when there was none. */
  recovered(nowMs: number): Recovery | undefined {
    if (this.failingSinceMs === undefined) return undefined;
    const recovery = { errors: this.total, downMs: nowMs - this.failingSinceMs };
    this.failingSinceMs = undefined;
    this.total = 0;
    this.unreported = 0;
    return recovery;
  }
}
