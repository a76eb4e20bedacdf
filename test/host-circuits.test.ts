/** Circuit breaking per source host and the retry delay, as pure functions. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_RETRY_DELAY_MS, retryDelayMs } from '../common/queue.js';
import { HostCircuits, sourceHost } from '../scheduler/host-circuits.js';
import { applyCircuit } from '../scheduler/outcome-policy.js';
import type { JobAction } from '../scheduler/status-to-job.js';

const opts = { failureThreshold: 3, openBaseMs: 1000, openMaxMs: 8000, giveUpAfterMs: 60_000 };

describe('HostCircuits', () => {
  it('spends attempts below the threshold, then holds jobs back until it half-opens', () => {
    const c = new HostCircuits(opts);
    assert.equal(c.failure('h:80', 0), undefined);
    assert.equal(c.failure('h:80', 10), undefined);
    assert.equal(c.failure('h:80', 20), 1020, 'the third fault opens it for 1 s');
    assert.deepEqual(c.admit('h:80', 500), { kind: 'wait', untilMs: 1020 });
    assert.equal(c.failure('h:80', 600), 1020, 'faults while open wait for the same instant');
    assert.deepEqual(c.admit('h:80', 1100), { kind: 'probe' }, 'half-open lets one probe through');
    assert.equal(c.admit('h:80', 1100).kind, 'wait', 'only one probe at a time');
  });

  it('a failed probe re-opens for twice as long, capped; a success closes', () => {
    const c = new HostCircuits(opts);
    for (let i = 0; i < 3; i++) c.failure('h:80', 0);
    let now = 1000;
    for (const expected of [2000, 4000, 8000, 8000]) {
      assert.equal(c.admit('h:80', now).kind, 'probe');
      const until = c.failure('h:80', now)!;
      assert.equal(until - now, expected);
      now = until;
    }
    assert.equal(c.admit('h:80', now).kind, 'probe');
    c.success('h:80');
    assert.deepEqual(c.admit('h:80', now), { kind: 'run' });
    assert.equal(c.failure('h:80', now), undefined, 'a fresh count after closing');
  });


  it('a host failing for longer than giveUpAfterMs no longer holds jobs back', () => {
    const c = new HostCircuits(opts);
    for (let i = 0; i < 3; i++) c.failure('h:80', 0);
    assert.equal(c.failure('h:80', 61_000), undefined, 'now failures spend attempts');
    assert.deepEqual(c.admit('h:80', 61_000), { kind: 'run' });
  });

  it('hosts are independent', () => {
    const c = new HostCircuits(opts);
    for (let i = 0; i < 3; i++) c.failure('a:80', 0);
    assert.deepEqual(c.admit('b:80', 10), { kind: 'run' });
  });

  it('sourceHost names host and port, defaulting the port per scheme', () => {
    assert.equal(sourceHost('http://Example.com/a.png'), 'example.com:80');
    assert.equal(sourceHost('https://example.com/a.png'), 'example.com:443');
    assert.equal(sourceHost('http://127.0.0.1:8080/a.png'), '127.0.0.1:8080');
    assert.equal(sourceHost('not a url'), '');
  });
});

describe('applyCircuit', () => {
  const retry = (reason: 'DOWNLOAD_CONNECTION' | 'DOWNLOAD_NOT_FOUND' | 'UPLOAD_FAILED'): JobAction => ({ kind: 'retry', reason, message: reason });
  it('turns host faults into free waits once the circuit opens, leaves other failures alone', () => {
    const c = new HostCircuits(opts);
    const run = { host: 'h:80', probe: false };
    assert.equal(applyCircuit(retry('DOWNLOAD_CONNECTION'), run, c, 0, () => 0).kind, 'retry');
    assert.equal(applyCircuit(retry('DOWNLOAD_CONNECTION'), run, c, 0, () => 0).kind, 'retry');
    const third = applyCircuit(retry('DOWNLOAD_CONNECTION'), run, c, 0, () => 0);
    assert.deepEqual([third.kind, third.kind === 'delay' && third.untilMs], ['delay', 1000]);
    assert.equal(applyCircuit(retry('UPLOAD_FAILED'), run, c, 10, () => 0).kind, 'retry', 'not the source host\'s fault');
  });

  it('a Retry-After delays only its own job and counts as one fault of the host', () => {
    const c = new HostCircuits(opts);
    const run = { host: 'h:80', probe: false };
    const asked: JobAction = { kind: 'retry', reason: 'DOWNLOAD_HTTP_5XX', message: '503', retryAfterMs: 600_000 };
    const first = applyCircuit(asked, run, c, 0, () => 0);
    assert.deepEqual(first, asked, 'below the threshold: a plain retry that honours its own Retry-After');
    assert.deepEqual(c.admit('h:80', 1), { kind: 'run' }, 'the host\'s other jobs still run');
    applyCircuit(retry('DOWNLOAD_CONNECTION'), run, c, 0, () => 0);
    const third = applyCircuit(asked, run, c, 0, () => 0);
    assert.deepEqual([third.kind, third.kind === 'delay' && third.untilMs], ['delay', 600_000], 'this job waits for its Retry-After');
    assert.deepEqual(c.admit('h:80', 1), { kind: 'wait', untilMs: 1000 }, 'the others only for the circuit\'s backoff');
    assert.deepEqual(c.admit('h:80', 1000), { kind: 'probe' });
  });
});

describe('retryDelayMs', () => {
  it('doubles per attempt with jitter below the base, and never under Retry-After', () => {
    assert.equal(retryDelayMs({ delay: 1000, jitter: 0.5 }, 1, undefined, () => 0), 1000);
    assert.equal(retryDelayMs({ delay: 1000, jitter: 0.5 }, 3, undefined, () => 0), 4000);
    assert.equal(retryDelayMs({ delay: 1000, jitter: 0.5 }, 3, undefined, () => 1), 2000);
    assert.equal(retryDelayMs({ delay: 1000, jitter: 0.5 }, 1, 7000, () => 0), 7000);
    assert.equal(retryDelayMs({ delay: 1000 }, 40, undefined, () => 0), MAX_RETRY_DELAY_MS, 'capped');
    assert.equal(retryDelayMs(500, 2, undefined, () => 0), 1000, 'a plain number is the first delay');
  });
});
