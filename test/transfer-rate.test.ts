import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextRateCheck, watchTransferRate } from '../executor/transfer-rate.js';

test('nextRateCheck: wait out the grace, then until the average would drop below the minimum', async (t) => {
  const opts = { minBytesPerSecond: 1000, graceMs: 5000 };
  const cases: [string, number, number, number | 'too-slow'][] = [
    // [name, transferred bytes, elapsed ms, expected]
    ['headers just arrived', 0, 0, 5000],
    ['inside the grace, however slow', 0, 4000, 1000],
    ['nothing after the headers, grace over', 0, 5000, 'too-slow'],
    ['a drip, grace over', 5, 6000, 'too-slow'],
    ['exactly the minimum is not below it', 6000, 6000, 1],
    ['ahead of the minimum: look again when the average would reach it', 10_000, 6000, 4001],
    ['fell behind since the last look', 10_000, 10_500, 'too-slow'],
    ['far ahead: capped so the timer never overflows', 10 ** 12, 6000, 60_000],
  ];
  for (const [name, transferred, elapsedMs, want] of cases) {
    await t.test(name, () => assert.equal(nextRateCheck(transferred, elapsedMs, opts), want));
  }
  await t.test('a long grace is waited for in capped steps', () => {
    assert.equal(nextRateCheck(0, 0, { minBytesPerSecond: 1, graceMs: 10 ** 10 }), 60_000);
  });
});

test('watchTransferRate: fires for a silent source, never after stop(), never when disabled', async (t) => {
  const tick = () => new Promise((resolve) => setTimeout(resolve, 30));
  await t.test('no bytes after the headers', async () => {
    const reason = await new Promise<string>((resolve) => watchTransferRate({ minBytesPerSecond: 1000, graceMs: 1 }, resolve).progress(0));
    assert.match(reason, /^0 bytes in .* below the minimum of 1000 bytes\/s$/);
  });
  await t.test('stopped before the grace ends', async () => {
    let fired = false;
    const watch = watchTransferRate({ minBytesPerSecond: 1000, graceMs: 1 }, () => (fired = true));
    watch.progress(0);
    watch.stop();
    watch.progress(0); // a late progress event must not start a new timer
    await tick();
    assert.equal(fired, false);
  });
  await t.test('minBytesPerSecond 0', async () => {
    let fired = false;
    watchTransferRate({ minBytesPerSecond: 0, graceMs: 1 }, () => (fired = true)).progress(0);
    await tick();
    assert.equal(fired, false);
  });
});
