/**
 * The one retry-delay rule, as got keeps one `calculate-retry-delay`: exponential backoff from a
 * first delay, capped, optionally spread down by jitter, and never sooner than a Retry-After
 * (itself capped). Used by job retries (common/queue.ts), upload retries (executor/upload.ts),
 * host circuits (scheduler/host-circuits.ts) and process restarts (stack/restart-policy.ts). Pure.
 */

/**
 * Longest wait a source's Retry-After can impose. 10 minutes, not the hour the executor once
 * allowed: it matches the longest job delay (MAX_RETRY_DELAY_MS) and the default HOST_GIVE_UP_MS,
 * so a host asking for longer is a host given up on, not one whose jobs sit silent for an hour.
 */
export const MAX_RETRY_AFTER_MS = 10 * 60 * 1000;

export interface Backoff {
  /** Delay before the first retry. */
  firstMs: number;
  /** No delay is longer than this (Retry-After aside, which has its own cap). */
  maxMs: number;
  /** 0..1: each delay is lowered by up to this share of itself at random (default 0: none). */
  jitter?: number;
}

/** Bounds a Retry-After to [0, MAX_RETRY_AFTER_MS]; undefined stays undefined. */
export function capRetryAfterMs(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS);
}

/**
 * The delay before retry number `retry` (1 for the first): `firstMs * 2^(retry-1)` up to `maxMs`,
 * less up to `jitter` of itself so things that failed together do not come back together, and at
 * least `retryAfterMs` (capped at MAX_RETRY_AFTER_MS). `random` is injectable for tests.
 */
export function retryDelay(backoff: Readonly<Backoff>, retry: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, retry - 1);
  // 2 ** 1100 is Infinity and Infinity * 0 is NaN: cap before multiplying out a huge exponent.
  const base = backoff.firstMs <= 0 ? 0 : Math.min(backoff.maxMs, backoff.firstMs * 2 ** Math.min(exponent, 64));
  const jitter = Math.min(1, Math.max(0, backoff.jitter ?? 0));
  const delay = jitter === 0 ? base : Math.round(base * (1 - jitter * random()));
  return Math.max(delay, capRetryAfterMs(retryAfterMs) ?? 0);
}
