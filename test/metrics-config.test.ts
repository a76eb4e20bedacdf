/** METRICS_PORT/METRICS_HOST parsing, the local stack's port scheme, and counters kept across leadership terms. Pure. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../common/config.js';
import { parseMetricsHost, parseMetricsPort } from '../common/metrics-config.js';
import { loadExecutorConfig } from '../executor/config.js';
import { loadFileserverConfig } from '../fileserver/config.js';
import { loadSchedulerConfig } from '../scheduler/config.js';
import { emptyCounters, TermTotals } from '../scheduler/term-totals.js';
import { MAX_STACK_EXECUTORS, MAX_STACK_SCHEDULERS, stackMetricsPorts } from '../stack/metrics-ports.js';
import { loadStackConfig } from '../stack/stack-config.js';

describe('METRICS_PORT', () => {
  const cases: [string, string | undefined, number | 'off' | RegExp][] = [
    ['unset: the default', undefined, 9464],
    ['blank: the default', '  ', 9464],
    ['a port', '9100', 9100],
    ['0: any free port', '0', 0],
    ['off', 'off', 'off'],
    ['OFF, any case', 'OFF', 'off'],
    ['the highest port', '65535', 65535],
    ['above 65535', '65536', /METRICS_PORT="65536" must be a port \(0-65535; 0 = any free port\) or "off"/],
    ['negative', '-1', /METRICS_PORT="-1" must be a port/],
    ['a word', 'none', /METRICS_PORT="none" must be a port/],
    ['a fraction', '9464.5', /METRICS_PORT="9464.5" must be a port/],
    ['a host:port', '127.0.0.1:9464', /must be a port/],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => {
      const parsed = parseMetricsPort(text, 9464);
      if (expected instanceof RegExp) assert.match('problem' in parsed ? parsed.problem : `port ${parsed.port}`, expected);
      else assert.deepEqual(parsed, { port: expected });
    });
  }
});

describe('METRICS_HOST', () => {
  const cases: [string | undefined, string | RegExp][] = [
    [undefined, '127.0.0.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['::', '::'],
    ['metrics.internal', 'metrics.internal'],
    ['http://0.0.0.0', /METRICS_HOST="http:\/\/0.0.0.0" must be an address to bind/],
    ['a b', /METRICS_HOST="a b" must be an address/],
  ];
  for (const [text, expected] of cases) {
    it(`${JSON.stringify(text)} -> ${expected}`, () => {
      const parsed = parseMetricsHost(text);
      if (expected instanceof RegExp) assert.match('problem' in parsed ? parsed.problem : parsed.host, expected);
      else assert.deepEqual(parsed, { host: expected });
    });
  }
});

describe('each process reads its metrics settings with its config', () => {
  it('defaults: scheduler 9464, executor 9465, fileserver 9466, all on 127.0.0.1', () => {
    assert.deepEqual(loadSchedulerConfig({}).metrics, { port: 9464, host: '127.0.0.1' });
    assert.deepEqual(loadExecutorConfig({ UPLOAD_TOKEN: 't' }).metrics, { port: 9465, host: '127.0.0.1' });
    assert.deepEqual(loadFileserverConfig({ UPLOAD_TOKEN: 't' }).metrics, { port: 9466, host: '127.0.0.1' });
  });

  it('takes off, 0 and a host', () => {
    assert.deepEqual(loadSchedulerConfig({ METRICS_PORT: 'off' }).metrics, { port: 'off', host: '127.0.0.1' });
    assert.deepEqual(loadExecutorConfig({ UPLOAD_TOKEN: 't', METRICS_PORT: '0', METRICS_HOST: '0.0.0.0' }).metrics, { port: 0, host: '0.0.0.0' });
  });

  it('reports bad values in the one error listing every problem', () => {
    assert.throws(
      () => loadFileserverConfig({ METRICS_PORT: 'x', METRICS_HOST: 'a/b' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.problems.length, 3, err.message);
        assert.match(err.message, /UPLOAD_TOKEN is required/);
        assert.match(err.message, /METRICS_PORT="x" must be a port/);
        assert.match(err.message, /METRICS_HOST="a\/b" must be an address/);
        return true;
      },
    );
  });
});

describe('local stack metrics ports', () => {
  const schedulers = Array.from({ length: MAX_STACK_SCHEDULERS }, (_, i) => `scheduler-${i + 1}`);
  const executors = Array.from({ length: MAX_STACK_EXECUTORS }, (_, i) => `executor-${i + 1}`);

  it('one scheduler 9464, fileserver 9466, executors 9481, 9482', () => {
    const ports = stackMetricsPorts(9464, ['scheduler'], ['executor-1', 'executor-2']);
    assert.deepEqual(Object.fromEntries(ports), { scheduler: 9464, fileserver: 9466, 'executor-1': 9481, 'executor-2': 9482 });
  });

  it('never gives two processes of the largest stack the same port, nor the single-process defaults to the wrong role', () => {
    const ports = [...stackMetricsPorts(9464, schedulers, executors).values()];
    assert.equal(new Set(ports).size, MAX_STACK_SCHEDULERS + 1 + MAX_STACK_EXECUTORS);
    assert.equal(stackMetricsPorts(9464, schedulers, executors).get('scheduler-1'), 9464);
    assert.ok(!ports.includes(9465), 'executor\'s own default (9465) stays free for one started by hand');
  });

  it('start: METRICS_PORT is the base; 0 means free ports; off; out-of-range bases are refused', () => {
    assert.equal(loadStackConfig({}, 8080).metricsPort, 9464);
    assert.equal(loadStackConfig({}, 8080).metricsPortChosen, false);
    assert.equal(loadStackConfig({ METRICS_PORT: '0' }, 8080).metricsPort, 'free');
    assert.equal(loadStackConfig({ METRICS_PORT: 'off' }, 8080).metricsPort, 'off');
    assert.equal(loadStackConfig({ METRICS_PORT: '20000' }, 8080).metricsPortChosen, true);
    assert.throws(() => loadStackConfig({ METRICS_PORT: '65500' }, 8080), /METRICS_PORT=65500 leaves no room/);
  });
});

describe('scheduler counters across leadership terms', () => {
  it('keeps a finished term\'s last values and adds the current term\'s, so counters never go down', () => {
    const totals = new TermTotals();
    const first = emptyCounters();
    first.offersAccepted = 3;
    first.runsEnded.TASK_FINISHED = { '': 2 };
    assert.equal(totals.read(first).offersAccepted, 3);
    first.offersAccepted = 5; // counted after the last scrape, before the term ended
    first.runsEnded.TASK_FINISHED = { '': 4 };
    first.itemsByOutcome.complete = 4;
    assert.equal(totals.read(undefined).offersAccepted, 5, 'standing by: the ended term counts in full');
    const second = emptyCounters();
    second.offersAccepted = 1;
    second.runsEnded.TASK_FINISHED = { '': 1 };
    second.runsEnded.TASK_FAILED = { DOWNLOAD_NOT_FOUND: 1 };
    const now = totals.read(second);
    assert.equal(now.offersAccepted, 6);
    assert.deepEqual(now.runsEnded, { TASK_FINISHED: { '': 5 }, TASK_FAILED: { DOWNLOAD_NOT_FOUND: 1 } });
    assert.deepEqual(now.itemsByOutcome, { complete: 4 });
    assert.equal(totals.read(second).offersAccepted, 6, 'reading twice counts nothing twice');
  });
});
