/**
 * When the launcher restarts a pipeline process that died on its own: exponential backoff that
 * starts over once the process has stayed up for a while, and a limit past which restarting is
 * pointless (a process that keeps dying needs a person, not a loop).
 */
import { retryDelay } from '../common/retry-delay.js';

export interface RestartPolicy {
  /** Delay before the first restart of a streak of quick deaths. */
  initialDelayMs: number;
  /** Each quick death doubles the delay, up to this. */
  maxDelayMs: number;
  /** A process that ran at least this long before dying starts over at initialDelayMs. */
  stableAfterMs: number;
  /** Give up rather than restart a process more than this many times within windowMs. */
  maxRestarts: number;
  windowMs: number;
}

export const DEFAULT_RESTART_POLICY: Readonly<RestartPolicy> = Object.freeze({
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
  stableAfterMs: 60_000,
  maxRestarts: 5,
  windowMs: 5 * 60_000,
});

export interface Death {
  /** When the process died (ms, any clock the caller uses consistently). */
  atMs: number;
  /** How long it had run since it was (re)started. */
  upMs: number;
}

export type RestartDecision =
  | { restart: true; delayMs: number; /** Deaths within the window, this one included. */ recentDeaths: number }
  | { restart: false; reason: string; recentDeaths: number };

/** `previous`: the process's earlier deaths, oldest first, each of which was followed by a restart. */
export function nextRestart(previous: readonly Death[], death: Death, policy: Readonly<RestartPolicy> = DEFAULT_RESTART_POLICY): RestartDecision {
  const recentDeaths = 1 + previous.filter((d) => d.atMs > death.atMs - policy.windowMs).length;
  if (recentDeaths > policy.maxRestarts) {
    return { restart: false, recentDeaths, reason: `died ${recentDeaths} times within ${policy.windowMs / 1000} s` };
  }
  // The streak is this death and the quick ones before it, back to (and including) the first
  // death that followed a stable run: that one was restarted after initialDelayMs.
  let streak = 1;
  if (death.upMs < policy.stableAfterMs) {
    for (let i = previous.length - 1; i >= 0; i--) {
      streak++;
      if (previous[i]!.upMs >= policy.stableAfterMs) break;
    }
  }
  return { restart: true, recentDeaths, delayMs: retryDelay({ firstMs: policy.initialDelayMs, maxMs: policy.maxDelayMs }, streak) };
}
