/**
 * Per source host circuit breakers, so one host's outage does not burn every job's attempts at
 * once. Pure; driven by the scheduler's clock.
 *
 * closed  -> `failureThreshold` consecutive host faults (refused connections, timeouts, 5xx)
 *            open it. A Retry-After is one fault like any other: it is one URL's answer, so it
 *            delays that job (see outcome-policy.ts), never the host's other jobs.
 * open    -> its jobs wait (delayed, no attempt spent) until it half-opens.
 * half    -> one probe job runs; success closes it, failure re-opens it for twice as long
 *            (capped at `openMaxMs`).
 * A host that has been failing for longer than `giveUpAfterMs` is treated as closed again: its
 * jobs then spend attempts and fail for good instead of waiting forever.
 */
import { retryDelay } from '../common/retry-delay.js';

export interface CircuitOptions {
  /** Consecutive host faults that open the circuit; default 3. */
  failureThreshold: number;
  /** First open period; default 1000 ms, doubled on each failed probe. */
  openBaseMs: number;
  /** Longest open period; default 60 000 ms. */
  openMaxMs: number;
  /** Stop holding jobs back once a host has failed for this long; default 600 000 ms. */
  giveUpAfterMs: number;
}

export const DEFAULT_CIRCUIT_OPTIONS: CircuitOptions = {
  failureThreshold: 3,
  openBaseMs: 1000,
  openMaxMs: 60_000,
  giveUpAfterMs: 600_000,
};

interface Circuit {
  failures: number;
  openUntilMs: number;
  openings: number;
  failingSinceMs: number;
  probeInFlight: boolean;
}

/** What an offer may do with a job of this host now. */
export type Admission = { kind: 'run' } | { kind: 'probe' } | { kind: 'wait'; untilMs: number };

export interface CircuitView {
  host: string;
  state: 'open' | 'half-open' | 'closed';
  failures: number;
  openUntilMs: number;
  failingSinceMs: number;
}

export class HostCircuits {
  private readonly circuits = new Map<string, Circuit>();

  constructor(private readonly opts: CircuitOptions = DEFAULT_CIRCUIT_OPTIONS) {}

  private givenUp(c: Circuit, nowMs: number): boolean {
    return nowMs - c.failingSinceMs > this.opts.giveUpAfterMs;
  }

  admit(host: string, nowMs: number): Admission {
    const c = this.circuits.get(host);
    if (!c || c.openUntilMs === 0 || this.givenUp(c, nowMs)) return { kind: 'run' };
    if (nowMs < c.openUntilMs) return { kind: 'wait', untilMs: c.openUntilMs };
    if (c.probeInFlight) return { kind: 'wait', untilMs: nowMs + Math.min(this.opts.openBaseMs, 1000) };
    c.probeInFlight = true;
    return { kind: 'probe' };
  }

  success(host: string): void {
    this.circuits.delete(host);
  }

  /**
   * Records a host fault. Returns until when the host's jobs should wait without spending an
   * attempt, or undefined when this failure should spend one (circuit still closed, or given up).
   */
  failure(host: string, nowMs: number): number | undefined {
    let c = this.circuits.get(host);
    if (!c) {
      c = { failures: 0, openUntilMs: 0, openings: 0, failingSinceMs: nowMs, probeInFlight: false };
      this.circuits.set(host, c);
    }
    c.failures++;
    if (this.givenUp(c, nowMs)) return undefined;
    const wasProbe = c.probeInFlight;
    c.probeInFlight = false;
    if (c.openUntilMs === 0 && c.failures < this.opts.failureThreshold) return undefined;
    if (nowMs >= c.openUntilMs || wasProbe) {
      c.openings++;
      const waitMs = retryDelay({ firstMs: this.opts.openBaseMs, maxMs: this.opts.openMaxMs }, c.openings);
      c.openUntilMs = Math.max(c.openUntilMs, nowMs + waitMs);
    }
    return c.openUntilMs;
  }

  /** A probe that ended without a verdict on the host (killed, lost) lets another one go. */
  probeAbandoned(host: string): void {
    const c = this.circuits.get(host);
    if (c) c.probeInFlight = false;
  }

  view(nowMs: number): CircuitView[] {
    return [...this.circuits].map(([host, c]) => ({
      host,
      state: c.openUntilMs === 0 || this.givenUp(c, nowMs) ? 'closed' : nowMs < c.openUntilMs ? 'open' : 'half-open',
      failures: c.failures,
      openUntilMs: c.openUntilMs,
      failingSinceMs: c.failingSinceMs,
    }));
  }
}

/** The source host of a URL as circuits and limits key it ("host:port"). */
export function sourceHost(url: string): string {
  try {
    const u = new URL(url);
    return u.port ? `${u.hostname}:${u.port}` : `${u.hostname}:${u.protocol === 'https:' ? 443 : 80}`;
  } catch {
    return '';
  }
}
