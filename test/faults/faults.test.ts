/**
 * The fault suite (`npm run test:faults`, also part of `npm test`): a real stack of separate
 * processes over a private Redis with an append-only file, 320 distinct images, one fault
 * injected mid-run per scenario. Each must end with every job completed, exactly one output per
 * source, each the exact inversion of its source, and no run doubled except the tasks that
 * were in flight on an executor that was killed, paused or cut off. The table printed at the
 * end is docs/faults.md's failure table.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { redisServerOnPath } from '../../stack/private-redis.js';
import { makeCorpus } from './corpus.js';
import { sleep, type FaultStack } from './fault-stack.js';
import { createNetns, type NetNs } from './netns.js';
import { resultsTable, runScenario, type Fault, type ScenarioOptions, type ScenarioResult } from './scenario.js';

const IMAGES = 320;
const results: ScenarioResult[] = [];
let images: Map<string, Buffer>;

const at = (affects: Fault['affects'], fn: (stack: FaultStack) => Promise<void>, restoredNow = false): Fault => ({
  affects,
  inject: async (stack) => {
    const start = Date.now();
    await fn(stack);
    return restoredNow ? start : Date.now();
  },
});
const leaderName = async (stack: FaultStack) => (await stack.leader())?.schedulerId ?? 'scheduler-1';

function check(r: ScenarioResult): void {
  const why = `${r.name}: ${JSON.stringify(r, null, 1)}`;
  assert.equal(r.completed, r.jobs, `every job completed — ${why}`);
  assert.equal(r.failed, 0, why);
  assert.equal(r.missingOutputs, 0, why);
  assert.equal(r.wrongOutputs, 0, why);
  assert.equal(r.extraFiles, 0, `exactly one output per source — ${why}`);
  assert.equal(r.doubledElsewhere, 0, `only runs in flight where the fault hit ran twice — ${why}`);
  assert.ok(r.maxUploadsOfOne <= 2, why);
}

async function scenario(name: string, opts: ScenarioOptions): Promise<void> {
  const r = await runScenario(name, images, opts);
  results.push(r);
  check(r);
}

describe('fault suite', { skip: !redisServerOnPath() && 'redis-server is not installed' }, () => {
  before(async () => {
    images = await makeCorpus(IMAGES);
  });
  after(() => {
    if (results.length > 0) console.log(`\nfault suite, ${IMAGES} images per scenario:\n\n${resultsTable(results)}\n`);
  });

  it('kill -9 an executor, restarted', { timeout: 180_000 }, () =>
    scenario('kill -9 an executor, restarted after 1 s', {
      fault: at(['executor-1'], async (s) => {
        await s.kill('executor-1');
        await sleep(1000);
        s.startExecutor('executor-1');
      }, true),
    }));

  it('kill -9 an executor, not restarted', { timeout: 180_000 }, () =>
    scenario('kill -9 an executor, not restarted', { fault: at(['executor-1'], (s) => s.kill('executor-1'), true) }));

  it('kill -9 the leader with a standby running', { timeout: 180_000 }, () =>
    scenario('kill -9 the leader, a standby running', { schedulers: 2, fault: at('none', async (s) => s.kill(await leaderName(s)), true) }));

  it('kill -9 and restart a lone scheduler', { timeout: 180_000 }, () =>
    scenario('kill -9 a lone scheduler, restarted after 1 s', {
      fault: at('none', async (s) => {
        await s.kill('scheduler-1');
        await sleep(1000);
        s.startScheduler('scheduler-1');
      }, true),
    }));

  it('two schedulers started at once', { timeout: 180_000 }, () =>
    scenario('two schedulers started at once', { schedulers: 2, schedulersAtOnce: true, fault: at('none', async () => undefined, true) }));

  it('SIGSTOP an executor past its timeout, then SIGCONT', { timeout: 180_000 }, () =>
    scenario('SIGSTOP an executor for 7 s (timeout 4 s), then SIGCONT', {
      fault: at(['executor-1'], async (s) => {
        s.signal('executor-1', 'SIGSTOP');
        await sleep(7000);
        s.signal('executor-1', 'SIGCONT');
      }),
    }));

  it('the image source refuses connections for 10 s', { timeout: 180_000 }, () =>
    scenario('image source refusing connections for 10 s', {
      fault: at('none', async (s) => {
        await s.source.refuse();
        await sleep(10_000);
        await s.source.resume();
      }),
    }));

  it('the fileserver is down for 10 s', { timeout: 180_000 }, () =>
    scenario('fileserver down for 10 s', {
      fault: at('all', async (s) => {
        await s.kill('fileserver');
        await sleep(10_000);
        s.startFileserver();
      }),
    }));

  it('Redis restarts (append-only file)', { timeout: 180_000 }, () =>
    scenario('Redis killed and restarted (AOF)', {
      fault: at('all', async (s) => {
        await s.killRedis();
        await sleep(1000);
        await s.startRedis();
      }),
    }));

  it('SIGTERM everything, then start again', { timeout: 180_000 }, () =>
    scenario('SIGTERM every process, then start again', {
      fault: at('none', async (s) => {
        const executors = s.names('executor');
        await Promise.all(executors.map((n) => s.stop(n)));
        await s.stop('scheduler-1');
        await s.stop('fileserver');
        s.startFileserver();
        s.startScheduler('scheduler-1');
        for (const n of executors) s.startExecutor(n);
      }),
    }));

  describe('an executor in a network namespace', () => {
    let netns: NetNs | undefined;
    let reason: string | undefined;
    before(() => {
      const made = createNetns();
      netns = made.ns;
      reason = made.reason;
    });
    after(() => netns?.destroy());

    it('its link goes down for 30 s', { timeout: 240_000 }, async (t) => {
      if (!netns) {
        t.skip(`ip netns is not available here: ${reason}`);
        return;
      }
      const ns = netns;
      await scenario('executor behind a link cut for 30 s', {
        executors: 1,
        netns: ns,
        fault: at(['executor-ns'], async () => {
          ns.cut();
          await sleep(30_000);
          ns.restore();
        }),
      });
    });
  });
});
