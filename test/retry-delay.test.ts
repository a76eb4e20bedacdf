/** The one retry-delay rule (common/retry-delay.ts): backoff, cap, jitter and Retry-After. Unit: no I/O. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capRetryAfterMs, MAX_RETRY_AFTER_MS, retryDelay, type Backoff } from '../common/retry-delay.js';

const B: Backoff = { firstMs: 1000, maxMs: 60_000 };

test('retryDelay', async (t) => {
  const cases: [string, Backoff, number, number | undefined, () => number, number][] = [
    ['first retry waits the first delay', B, 1, undefined, Math.random, 1000],
    ['doubles per retry', B, 3, undefined, Math.random, 4000],
    ['retry 0 counts as the first', B, 0, undefined, Math.random, 1000],
    ['capped at maxMs', B, 10, undefined, Math.random, 60_000],
    ['a huge retry count is still the cap, not NaN', B, 5000, undefined, Math.random, 60_000],
    ['jitter lowers by up to its share', { ...B, jitter: 0.5 }, 3, undefined, () => 1, 2000],
    ['jitter with random 0 keeps the full delay', { ...B, jitter: 0.5 }, 3, undefined, () => 0, 4000],
    ['jitter above 1 is read as 1', { ...B, jitter: 3 }, 1, undefined, () => 1, 0],
    ['Retry-After longer than the backoff wins', B, 1, 7000, Math.random, 7000],
    ['Retry-After shorter than the backoff does not shorten it', B, 3, 10, Math.random, 4000],
    ['Retry-After beyond the cap is the cap', B, 1, 24 * 3600 * 1000, Math.random, MAX_RETRY_AFTER_MS],
    ['Retry-After above maxMs still counts (its own cap)', { firstMs: 500, maxMs: 10_000 }, 1, 30_000, Math.random, 30_000],
    ['no first delay, no wait', { firstMs: 0, maxMs: 1000 }, 4, undefined, Math.random, 0],
  ];
  for (const [name, backoff, retry, retryAfter, random, want] of cases) {
    await t.test(name, () => assert.equal(retryDelay(backoff, retry, retryAfter, random), want));
  }
});

test('capRetryAfterMs', async (t) => {
  const cases: [number | undefined, number | undefined][] = [
    [undefined, undefined],
    [-5, 0],
    [2000, 2000],
    [MAX_RETRY_AFTER_MS + 1, MAX_RETRY_AFTER_MS],
  ];
  for (const [given, want] of cases) await t.test(`${String(given)} -> ${String(want)}`, () => assert.equal(capRetryAfterMs(given), want));
});

test('one cap for Retry-After: 10 minutes, the longest job delay', () => {
  assert.equal(MAX_RETRY_AFTER_MS, 10 * 60 * 1000);
});
