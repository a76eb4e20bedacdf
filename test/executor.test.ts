/** The executor's protocol behaviour against typed doubles: no Redis, no sockets, no sharp. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PipelineError } from '../common/errors.js';
import { silentLogger } from '../common/log.js';
import { Executor } from '../executor/executor.js';
import type { BatchTaskDeps } from '../executor/image-task.js';
import type { ExecutorEvent, ReceivedCall, SchedulerCall, TaskInfo, TaskStatus } from '../protocol/types.js';

const task = (taskId: string, cpus = 0.5, tokens: string[] = [taskId]): TaskInfo => ({
  taskId,
  name: taskId,
  executorId: 'e1',
  resources: { cpus, memMb: 100, ports: [] },
  images: tokens.map((token) => ({ token, jobId: `job-${token}`, sourceUrl: `http://src/${token}.png`, outputName: token, attempt: 1 })),
});

function setup(download: BatchTaskDeps['download'] = async () => Buffer.from('img')) {
  const events: ExecutorEvent[] = [];
  const runs: string[] = [];
  const uploads: string[] = [];
  const batches: string[][] = [];
  const alive: string[] = [];
  let epoch = 1;
  let lease: { schedulerId: string; epoch: number } | undefined;
  const deps: BatchTaskDeps = {
    download: async (url, signal) => {
      runs.push(url);
      return download(url, signal);
    },
    invert: async (data) => ({ data, format: 'png', width: 1, height: 1 }),
    upload: async (name, image) => {
      uploads.push(name);
      return { name: `${name}.png`, url: `http://fs/files/${name}.png`, bytes: image.data.length };
    },
    uploadMany: async (images) => {
      batches.push(images.map((i) => i.name));
      return images.map((i) => ({ name: `${i.name}.png`, url: `http://fs/files/${i.name}.png`, bytes: i.data.length }));
    },
    now: Date.now,
  };
  const executor = new Executor(
    { emit: async (e) => void events.push(e), markAlive: async (v) => void alive.push(v), inboxStalledMs: () => 0, inboxPosition: () => '', leaseHolder: async () => lease },
    deps,
    {
      executorId: 'e1',
      hostname: 'h',
      advertiseHost: '127.0.0.1',
      resources: { cpus: 1, memMb: 1000, ports: [] },
      heartbeatMs: 60_000,
      offerTtlMs: 60_000,
      ackResendMs: 60_000,
      stageUpdateMs: 0,
      shutdownAckWaitMs: 0,
      services: { healthIntervalMs: 1000, startTimeoutMs: 5000, healthFailures: 3 },
    },
    silentLogger,
  );
  const call = (c: SchedulerCall, at = epoch): ReceivedCall => ({ envelope: { epoch: at, schedulerId: 's', sentAtMs: 0, version: { major: 2, minor: 0 } }, call: c });
  const handle = (c: SchedulerCall, at?: number) => executor.handleCall(call(c, at));
  const offers = () => events.flatMap((e) => (e.kind === 'offer' ? [e.offer] : []));
  const terminal = () => events.flatMap((e) => (e.kind === 'update' && e.status.uuid ? [e.status] : [])) as TaskStatus[];
  const settle = () => new Promise((r) => setTimeout(r, 20));
  const setEpoch = (n: number) => (epoch = n);
  const setLease = (l: typeof lease) => (lease = l);
  return { executor, events, runs, uploads, batches, alive, offers, terminal, settle, handle, setEpoch, setLease };
}

describe('Executor', () => {
  it('registers, offers all it has, runs launched tasks and reports FINISHED with each image\'s result', async (t) => {
    const x = setup();
    t.after(() => x.executor.drain());
    await x.executor.start();
    assert.equal(x.events[0]?.kind, 'register');
    assert.equal(x.alive.length, 1, 'alive key written before registering');
    const [offer] = x.offers();
    assert.deepEqual(offer?.resources, { cpus: 1, memMb: 1000, ports: [] });
    assert.equal(offer?.ttlMs, 60_000, 'the offer carries its lifetime, not an instant of this clock');
    await x.handle({ kind: 'launch', offerId: offer!.id, tasks: [task('a'), task('b')] });
    await x.settle();
    const done = x.terminal();
    assert.deepEqual(done.map((s) => [s.taskId, s.state]).sort(), [['a', 'TASK_FINISHED'], ['b', 'TASK_FINISHED']]);
    assert.equal(done[0]?.items[0]?.result?.name, `${done[0]?.taskId}.png`);
    assert.deepEqual(x.uploads.sort(), ['a', 'b'], 'uploaded under the launch\'s output names');
    assert.equal(x.offers().length, 2);
    assert.deepEqual(x.offers()[1]?.resources, { cpus: 0.5, memMb: 900, ports: [] }, 'freed resources are offered again');
  });

  it('runs every image of a task and reports each one\'s own outcome', async (t) => {
    const x = setup(async (url) => {
      if (url.includes('bad')) throw new PipelineError('DOWNLOAD_NOT_FOUND', '404');
      return Buffer.from('img');
    });
    t.after(() => x.executor.drain());
    await x.executor.start();
    await x.handle({ kind: 'launch', offerId: x.offers()[0]!.id, tasks: [task('multi', 0.5, ['ok1', 'bad', 'ok2'])] });
    await x.settle();
    const [status] = x.terminal();
    assert.deepEqual(status?.items.map((i) => [i.token, i.state, i.reason]), [
      ['ok1', 'TASK_FINISHED', undefined],
      ['bad', 'TASK_FAILED', 'DOWNLOAD_NOT_FOUND'],
      ['ok2', 'TASK_FINISHED', undefined],
    ]);
    assert.deepEqual(x.batches, [['ok1', 'ok2']], 'the finished images went up in one request');
  });

  it('offers again when its tasks ended while an offer was out and the scheduler declines that offer with refuse 0', async (t) => {
    // The stall seen in status.test: both tasks of a 1-cpu executor end together; the first
    // one's half cpu is offered and declined (refuse 0: too small for a whole-cpu task) after
    // the second one already ended. The executor, idle, must offer its whole cpu.
    const pending = new Map<string, () => void>();
    const x = setup((url) => new Promise((r) => pending.set(url, () => r(Buffer.from('img')))));
    t.after(() => x.executor.drain());
    await x.executor.start();
    await x.handle({ kind: 'launch', offerId: x.offers()[0]!.id, tasks: [task('a'), task('b')] });
    await x.settle();
    pending.get('http://src/a.png')!();
    await x.settle();
    const half = x.offers()[1]!;
    assert.deepEqual(half.resources, { cpus: 0.5, memMb: 900, ports: [] });
    pending.get('http://src/b.png')!();
    await x.settle();
    assert.equal(x.offers().length, 2, 'the half-cpu offer is still out');
    assert.equal(x.executor.runningTasks, 0);
    await x.handle({ kind: 'decline', offerId: half.id, refuseSeconds: 0 });
    assert.deepEqual(x.offers()[2]?.resources, { cpus: 1, memMb: 1000, ports: [] }, 'the idle executor offers all it has');
  });

  it('forgets a deposed leader\'s refuse-0 wait: an idle executor offers to the new leader', async (t) => {
    const x = setup();
    t.after(() => x.executor.drain());
    await x.executor.start();
    await x.handle({ kind: 'decline', offerId: x.offers()[0]!.id, refuseSeconds: 0 });
    assert.equal(x.offers().length, 1, 'waits for released resources: none will come, it runs nothing');
    x.setEpoch(2);
    await x.handle({ kind: 'reconcile', taskIds: [] });
    assert.deepEqual(x.events.slice(-2).map((e) => e.kind), ['reconciled', 'offer'], 'answers the new leader, then offers to it');
    assert.deepEqual(x.offers()[1]?.resources, { cpus: 1, memMb: 1000, ports: [] });
  });

  it('ignores a redelivered launch instead of reporting its running tasks LOST', async (t) => {
    let release: () => void = () => undefined;
    const x = setup(() => new Promise((r) => (release = () => r(Buffer.from('img')))));
    t.after(() => x.executor.drain());
    await x.executor.start();
    const launch: SchedulerCall = { kind: 'launch', offerId: x.offers()[0]!.id, tasks: [task('a')] };
    await x.handle(launch);
    await x.handle(launch);
    release();
    await x.settle();
    assert.deepEqual(x.runs, ['http://src/a.png'], 'ran once');
    assert.deepEqual(x.terminal().map((s) => s.state), ['TASK_FINISHED']);
  });

  it('answers a launch against an unknown offer with TASK_LOST / INVALID_OFFER and runs nothing', async (t) => {
    const x = setup();
    t.after(() => x.executor.drain());
    await x.executor.start();
    await x.handle({ kind: 'launch', offerId: 'from-an-earlier-run', tasks: [task('a')] });
    assert.deepEqual(x.runs, []);
    assert.deepEqual(x.terminal().map((s) => [s.state, s.items[0]?.state, s.items[0]?.reason]), [['TASK_LOST', 'TASK_LOST', 'INVALID_OFFER']]);
  });

  it('reports a failing download as FAILED with its reason and stage', async (t) => {
    const x = setup(async () => {
      throw new PipelineError('DOWNLOAD_HTTP_5XX', 'answered 503', { retryAfterMs: 7000 });
    });
    t.after(() => x.executor.drain());
    await x.executor.start();
    await x.handle({ kind: 'launch', offerId: x.offers()[0]!.id, tasks: [task('a')] });
    await x.settle();
    assert.deepEqual(x.terminal().map((s) => [s.state, s.items[0]?.reason, s.items[0]?.stage, s.items[0]?.retryAfterMs]), [['TASK_FAILED', 'DOWNLOAD_HTTP_5XX', 'download', 7000]]);
  });

  it('stops offering after a refuse-period decline and offers again on revive', async (t) => {
    const x = setup();
    t.after(() => x.executor.drain());
    await x.executor.start();
    await x.handle({ kind: 'decline', offerId: x.offers()[0]!.id, refuseSeconds: 60 });
    assert.equal(x.offers().length, 1);
    await x.handle({ kind: 'revive' });
    assert.equal(x.offers().length, 2);
  });

  it('drops calls from a deposed leader once a newer epoch has been seen', async (t) => {
    const x = setup();
    t.after(() => x.executor.drain());
    await x.executor.start();
    await x.handle({ kind: 'reconcile', taskIds: [] }, 5);
    assert.equal(x.executor.epoch, 5);
    await x.handle({ kind: 'launch', offerId: x.offers()[0]!.id, tasks: [task('a')] }, 4);
    await x.settle();
    assert.deepEqual(x.runs, [], 'the old leader\'s launch was dropped');
    await x.handle({ kind: 'launch', offerId: x.offers()[0]!.id, tasks: [task('b')] }, 5);
    await x.settle();
    assert.deepEqual(x.runs, ['http://src/b.png']);
  });

  it('follows a lower epoch when the lease in Redis says it leads (Redis lost the counter)', async (t) => {
    const x = setup();
    t.after(() => x.executor.drain());
    await x.executor.start();
    await x.handle({ kind: 'reconcile', taskIds: [] }, 9);
    x.setLease({ schedulerId: 's', epoch: 3 });
    await x.handle({ kind: 'launch', offerId: x.offers()[0]!.id, tasks: [task('a')] }, 3);
    await x.settle();
    assert.deepEqual(x.runs, ['http://src/a.png']);
    assert.equal(x.executor.epoch, 3);
  });

  it('a kill that arrives before its launch is not lost', async (t) => {
    const x = setup();
    t.after(() => x.executor.drain());
    await x.executor.start();
    await x.handle({ kind: 'kill', taskId: 'a', reason: 'CANCELLED' });
    await x.handle({ kind: 'launch', offerId: x.offers()[0]!.id, tasks: [task('a')] });
    await x.settle();
    assert.deepEqual(x.runs, []);
    assert.deepEqual(x.terminal().map((s) => [s.state, s.items[0]?.reason]), [['TASK_KILLED', 'CANCELLED']]);
  });

  it('a kill naming one image stops that image only', async (t) => {
    const gates = new Map<string, () => void>();
    const x = setup((url) => new Promise((resolve, reject) => {
      gates.set(url, () => resolve(Buffer.from('img')));
      void reject;
    }));
    t.after(() => x.executor.drain());
    await x.executor.start();
    await x.handle({ kind: 'launch', offerId: x.offers()[0]!.id, tasks: [task('t', 0.5, ['one', 'two'])] });
    await x.settle();
    await x.handle({ kind: 'kill', taskId: 'two', reason: 'CANCELLED' });
    gates.get('http://src/one.png')?.();
    await x.settle();
    const [status] = x.terminal();
    assert.deepEqual(status?.items.map((i) => [i.token, i.state]), [['one', 'TASK_FINISHED'], ['two', 'TASK_KILLED']]);
    assert.deepEqual(x.runs, ['http://src/one.png'], 'the killed image never started');
  });

  it('answers Reconcile with running tasks and finished ones awaiting acknowledgement', async (t) => {
    let release: () => void = () => undefined;
    const x = setup((url) => (url.includes('slow') ? new Promise((r) => (release = () => r(Buffer.from('img')))) : Promise.resolve(Buffer.from('img'))));
    t.after(() => {
      release();
      return x.executor.drain();
    });
    await x.executor.start();
    await x.handle({ kind: 'launch', offerId: x.offers()[0]!.id, tasks: [task('fast'), task('slow')] });
    await x.settle();
    await x.handle({ kind: 'reconcile', taskIds: ['fast', 'slow'] }, 2);
    const answer = x.events.find((e) => e.kind === 'reconciled');
    assert.ok(answer?.kind === 'reconciled');
    assert.equal(answer.epoch, 2);
    const byId = new Map(answer.tasks.map((r) => [r.info.taskId, r.status]));
    assert.equal(byId.get('slow')?.state, 'TASK_RUNNING');
    assert.equal(byId.get('fast')?.state, 'TASK_FINISHED');
    assert.ok(byId.get('fast')?.uuid, 'the unacknowledged update comes with its uuid');
  });
});
