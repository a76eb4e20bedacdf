/** The executor's protocol behaviour against typed doubles: no Redis, no sockets, no sharp. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../common/log.js';
import { PipelineError } from '../common/errors.js';
import { Executor } from '../executor/executor.js';
import type { TaskDeps } from '../executor/run-task.js';
import type { ExecutorEvent, TaskInfo, TaskStatus } from '../protocol/types.js';

const task = (taskId: string, cpus = 0.5): TaskInfo => ({
  taskId,
  name: taskId,
  executorId: 'e1',
  jobId: taskId,
  sourceUrl: `http://src/${taskId}.png`,
  upload: { url: 'http://fs/upload', name: taskId },
  resources: { cpus, memMb: 100, ports: [] },
  attempt: 1,
});

function setup(download: TaskDeps['download'] = async () => Buffer.from('img')) {
  const events: ExecutorEvent[] = [];
  const runs: string[] = [];
  const deps: TaskDeps = {
    download: async (url, signal) => {
      runs.push(url);
      return download(url, signal);
    },
    invert: async (data) => ({ data, format: 'png', width: 1, height: 1 }),
    upload: async (target, image) => ({ name: `${target.name}.png`, url: `http://fs/files/${target.name}.png`, bytes: image.data.length }),
    now: Date.now,
  };
  const executor = new Executor(
    async (e) => void events.push(e),
    deps,
    {
      executorId: 'e1',
      hostname: 'h',
      resources: { cpus: 1, memMb: 1000, ports: [] },
      heartbeatMs: 60_000,
      offerTtlMs: 60_000,
      ackResendMs: 60_000,
      stageUpdateMs: 0,
      shutdownAckWaitMs: 0,
    },
    silentLogger,
  );
  const offers = () => events.flatMap((e) => (e.kind === 'offer' ? [e.offer] : []));
  const terminal = () => events.flatMap((e) => (e.kind === 'update' && e.status.uuid ? [e.status] : [])) as TaskStatus[];
  const settle = () => new Promise((r) => setTimeout(r, 20));
  return { executor, events, runs, offers, terminal, settle };
}

describe('Executor', () => {
  it('registers, offers all it has, runs launched tasks and reports FINISHED with the result', async (t) => {
    const x = setup();
    t.after(() => x.executor.drain());
    await x.executor.start();
    assert.equal(x.events[0]?.kind, 'register');
    const [offer] = x.offers();
    assert.deepEqual(offer?.resources, { cpus: 1, memMb: 1000, ports: [] });
    await x.executor.handleCall({ kind: 'launch', offerId: offer!.id, tasks: [task('a'), task('b')] });
    await x.settle();
    const done = x.terminal();
    assert.deepEqual(done.map((s) => [s.taskId, s.state]).sort(), [['a', 'TASK_FINISHED'], ['b', 'TASK_FINISHED']]);
    assert.equal(done[0]?.result?.name, `${done[0]?.taskId}.png`);
    // The first task to finish frees its slice and it is offered at once; the second one's slice
    // waits until that offer is answered (one outstanding offer at a time).
    assert.equal(x.offers().length, 2);
    assert.deepEqual(x.offers()[1]?.resources, { cpus: 0.5, memMb: 900, ports: [] }, 'freed resources are offered again');
  });

  it('ignores a redelivered launch instead of reporting its running tasks LOST', async (t) => {
    let release: () => void = () => undefined;
    const x = setup(() => new Promise((r) => (release = () => r(Buffer.from('img')))));
    t.after(() => x.executor.drain());
    await x.executor.start();
    const launch = { kind: 'launch' as const, offerId: x.offers()[0]!.id, tasks: [task('a')] };
    await x.executor.handleCall(launch);
    await x.executor.handleCall(launch);
    release();
    await x.settle();
    assert.deepEqual(x.runs, ['http://src/a.png'], 'ran once');
    assert.deepEqual(x.terminal().map((s) => s.state), ['TASK_FINISHED']);
  });

  it('answers a launch against an unknown offer with TASK_LOST / INVALID_OFFER and runs nothing', async (t) => {
    const x = setup();
    t.after(() => x.executor.drain());
    await x.executor.start();
    await x.executor.handleCall({ kind: 'launch', offerId: 'from-an-earlier-run', tasks: [task('a')] });
    assert.deepEqual(x.runs, []);
    assert.deepEqual(x.terminal().map((s) => [s.state, s.reason, s.retryable]), [['TASK_LOST', 'INVALID_OFFER', true]]);
  });

  it('reports a failing download as FAILED with its reason and whether a retry helps', async (t) => {
    const x = setup(async () => {
      throw new PipelineError('DOWNLOAD_NOT_FOUND', 'answered 404');
    });
    t.after(() => x.executor.drain());
    await x.executor.start();
    await x.executor.handleCall({ kind: 'launch', offerId: x.offers()[0]!.id, tasks: [task('a')] });
    await x.settle();
    assert.deepEqual(x.terminal().map((s) => [s.state, s.reason, s.retryable, s.stage]), [['TASK_FAILED', 'DOWNLOAD_NOT_FOUND', false, 'download']]);
  });

  it('stops offering after a refuse-period decline and offers again on revive', async (t) => {
    const x = setup();
    t.after(() => x.executor.drain());
    await x.executor.start();
    await x.executor.handleCall({ kind: 'decline', offerId: x.offers()[0]!.id, refuseSeconds: 60 });
    assert.equal(x.offers().length, 1);
    await x.executor.handleCall({ kind: 'revive' });
    assert.equal(x.offers().length, 2);
  });
});
