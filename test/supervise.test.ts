/**
 * The launcher keeps the stack up: real processes, real Redis. A killed process comes back, one
 * that keeps dying is given up on and reported, and stop() cancels a pending restart and leaves
 * no process behind. (`npm start` with kill -9 is in cli.test.ts.)
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createLogger } from '../common/log.js';
import { launchStack, schedulerNames, type StackOptions } from '../stack/launch-stack.js';
import { DEFAULT_RESTART_POLICY, type RestartPolicy } from '../stack/restart-policy.js';
import { loadStackConfig } from '../stack/stack-config.js';
import { logfmtLine } from './helpers/log-lines.js';
import { isRunning } from './helpers/processes.js';
import { freshQueueName, testRedisUrl } from './helpers/redis.js';

interface Hit {
  match: RegExpMatchArray;
  index: number;
}

/** Every line of the launcher's log and its children's output, in order, and a way to wait for one. */
function transcript() {
  const lines: string[] = [];
  const waiting: { re: RegExp; from: number; resolve: (hit: Hit) => void }[] = [];
  const add = (raw: string) => {
    const line = logfmtLine(raw);
    const index = lines.push(line) - 1;
    for (const w of [...waiting]) {
      const match = index >= w.from ? line.match(w.re) : null;
      if (match) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve({ match, index });
      }
    }
  };
  /** The first line matching `re` at index `from` or later, now or when it comes. */
  const next = (re: RegExp, from = 0) =>
    new Promise<Hit>((resolve) => {
      for (let index = from; index < lines.length; index++) {
        const match = lines[index]!.match(re);
        if (match) return resolve({ match, index });
      }
      waiting.push({ re, from, resolve });
    });
  const pids = () => lines.flatMap((l) => [...l.matchAll(/process (?:started|restarted) .*pid=(\d+)/g)].map((m) => Number(m[1])));
  return { lines, add, next, pids, log: createLogger({ proc: 'launcher' }, 'debug', add) };
}


async function options(t: { after(fn: () => Promise<void>): void }, policy: Partial<RestartPolicy>, extra: Partial<StackOptions> = {}) {
  const root = await mkdtemp(join(tmpdir(), 'supervise-test-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const out = transcript();
  const opts: StackOptions = {
    redisUrl: await testRedisUrl(),
    executors: 2,
    port: 0,
    host: '127.0.0.1',
    uploadDir: join(root, 'uploads'),
    imagesDir: join(root, 'images'),
    queueName: freshQueueName('supervise'),
    env: { LOG_LEVEL: 'info' },
    output: out.add,
    restartPolicy: { ...DEFAULT_RESTART_POLICY, ...policy },
    ...extra,
  };
  return { opts, out };
}

describe('supervised stack', () => {
  it('gives up on a process that keeps dying, says which and why, and still stops the rest', { timeout: 120_000 }, async (t) => {
    const { opts, out } = await options(t, { initialDelayMs: 10, maxDelayMs: 10, maxRestarts: 2, windowMs: 10 * 60_000 });
    const stack = await launchStack(opts, out.log);
    let from = 0;
    for (let death = 1; death <= 3; death++) {
      const { match, index } = await out.next(/process (?:started|restarted) .*process=executor-1 pid=(\d+)/, from);
      from = index + 1;
      process.kill(Number(match[1]), 'SIGKILL');
    }
    const failure = await stack.gaveUp;
    assert.deepEqual(failure, { process: 'executor-1', reason: 'died 3 times within 600 s, last killed by SIGKILL' });
    assert.equal(out.lines.filter((l) => /process restarted .*process=executor-1/.test(l)).length, 2);
    assert.ok(out.lines.some((l) => /ERROR process keeps dying; not restarting it .*process=executor-1 .*signal=SIGKILL/.test(l)));
    await stack.stop();
    for (const pid of out.pids()) assert.equal(isRunning(pid), false, `pid ${pid} is gone`);
  });

  it('stop() cancels a pending restart, stops executors, schedulers, fileserver in that order and leaves nothing behind', { timeout: 120_000 }, async (t) => {
    const { opts, out } = await options(t, { initialDelayMs: 10 * 60_000, maxDelayMs: 10 * 60_000 }, { schedulers: 2 });
    const stack = await launchStack(opts, out.log);
    for (const name of ['scheduler-1', 'scheduler-2']) assert.ok(out.lines.some((l) => l.startsWith(name) && l.includes('scheduler started')), name);
    const { match } = await out.next(/process started .*process=executor-1 pid=(\d+)/);
    process.kill(Number(match[1]), 'SIGKILL');
    await out.next(/WARN  process exited unexpectedly; restarting it .*process=executor-1 .*signal=SIGKILL .*delayMs=600000/);
    await stack.stop();
    assert.ok(!out.lines.some((l) => l.includes('process restarted')), 'the pending restart was cancelled');
    for (const pid of out.pids()) assert.equal(isRunning(pid), false, `pid ${pid} is gone`);
    const stoppedAt = (name: string) => out.lines.findIndex((l) => l.startsWith(name) && / (executor|scheduler|fileserver) stopped/.test(l));
    const [executor, scheduler1, scheduler2, fileserver] = ['executor-2', 'scheduler-1', 'scheduler-2', 'fileserver'].map(stoppedAt) as [number, number, number, number];
    assert.ok(Math.min(executor, scheduler1, scheduler2, fileserver) >= 0, 'every live process said it stopped');
    assert.ok(executor < Math.min(scheduler1, scheduler2) && Math.max(scheduler1, scheduler2) < fileserver, 'executors, then schedulers, then the fileserver');
  });
});

describe('SCHEDULERS', () => {
  it('names one scheduler "scheduler" and several scheduler-N', () => {
    assert.deepEqual(schedulerNames(1), ['scheduler']);
    assert.deepEqual(schedulerNames(3), ['scheduler-1', 'scheduler-2', 'scheduler-3']);
  });
  const cases: [string, string | undefined, number | RegExp][] = [
    ['defaults to 1', undefined, 1],
    ['takes 8', '8', 8],
    ['refuses 0', '0', /SCHEDULERS=0 is below 1/],
    ['refuses 9', '9', /SCHEDULERS=9 is above 8/],
    ['refuses a fraction', '1.5', /SCHEDULERS=1.5 is not a whole number/],
  ];
  for (const [name, value, expected] of cases) {
    it(name, () => {
      const load = () => loadStackConfig({ SCHEDULERS: value }, 0).schedulers;
      if (expected instanceof RegExp) assert.throws(load, expected);
      else assert.equal(load(), expected);
    });
  }
});
