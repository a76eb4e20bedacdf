/**
 * The scheduler's decisions against typed test doubles: no Redis, no sockets. The real
 * BullMQ adapter and streams are covered by the pipeline test.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { silentLogger } from '../common/log.js';
import type { ImageJobData, ImageJobProgress, ImageJobResult } from '../common/queue.js';
import type { ExecutorEvent, Offer, SchedulerCall, TaskStatus } from '../protocol/types.js';
import type { JobQueue, QueuedJob } from '../scheduler/job-queue.js';
import { Scheduler, type SchedulerOptions } from '../scheduler/scheduler.js';

interface FakeJob {
  id: string;
  data: ImageJobData;
  attemptsMade: number;
}

class FakeQueue implements JobQueue {
  waiting: FakeJob[] = [];
  calls: string[] = [];
  lockHeld = true;
  add(id: string, url = `http://src/${id}.png`, output = `out-${id}`) {
    this.waiting.push({ id, data: { url, output }, attemptsMade: 0 });
  }
  async take(_token: string) {
    return this.waiting.shift() as unknown as QueuedJob | undefined;
  }
  async progress(job: QueuedJob, p: ImageJobProgress) {
    this.calls.push(`progress ${job.id} ${p.state} ${p.stage}`);
  }
  async complete(job: QueuedJob, _token: string, r: ImageJobResult) {
    this.calls.push(`complete ${job.id} ${r.name}`);
  }
  async failRetryable(job: QueuedJob, _token: string, message: string) {
    this.calls.push(`retry ${job.id} ${message.split(':')[0]}`);
  }
  async failPermanent(job: QueuedJob, _token: string, message: string) {
    this.calls.push(`fail ${job.id} ${message.split(':')[0]}`);
  }
  async requeue(job: QueuedJob) {
    this.calls.push(`requeue ${job.id}`);
  }
  async extendLock() {
    return this.lockHeld;
  }
  async hasRunnableJobs() {
    return this.waiting.length > 0;
  }
  async close() {}
}

const OPTS: SchedulerOptions = {
  uploadUrl: 'http://fs/upload',
  task: { cpus: 0.5, memMb: 256, ports: 0 },
  maxTasksPerOffer: 64,
  refuseSeconds: 5,
  lockDurationMs: 30_000,
  executorTimeoutMs: 10_000,
  shutdownGraceMs: 0,
  revivePollMs: 100,
};

describe('Scheduler', () => {
  let now: number;
  let queue: FakeQueue;
  let sent: { to: string; call: SchedulerCall }[];
  let scheduler: Scheduler;
  const offer = (id: string, cpus: number, executorId = 'e1', memMb = 4096): ExecutorEvent => ({
    executorId,
    sentAtMs: now,
    kind: 'offer',
    offer: { id, executorId, hostname: 'h', resources: { cpus, memMb, ports: [] }, expiresAtMs: now + 10_000 } satisfies Offer,
  });
  const update = (taskId: string, over: Partial<TaskStatus>, executorId = 'e1'): ExecutorEvent => ({
    executorId,
    sentAtMs: now,
    kind: 'update',
    status: { taskId, jobId: '?', executorId, state: 'TASK_RUNNING', stage: 'download', retryable: false, message: 'm', timestamp: now / 1000, ...over },
  });
  const launched = () => sent.flatMap((s) => (s.call.kind === 'launch' ? s.call.tasks : []));
  const result = { name: 'x.png', url: 'u', bytes: 1, width: 1, height: 1, format: 'png', durationMs: 1, downloadMs: 0, invertMs: 1, uploadMs: 0, sourceBytes: 1 };

  beforeEach(() => {
    now = 1_000_000;
    queue = new FakeQueue();
    sent = [];
    scheduler = new Scheduler(
      queue,
      { send: async (to, calls) => void sent.push(...calls.map((call) => ({ to, call }))), keepInbox: async () => undefined },
      OPTS,
      silentLogger,
      () => now,
    );
  });

  it('launches as many jobs as the offer fits, each with its own task id and upload target', async () => {
    for (const id of ['1', '2', '3', '4', '5']) queue.add(id);
    await scheduler.handleEvents([offer('o1', 1.5)]);
    const tasks = launched();
    assert.deepEqual(tasks.map((t) => t.jobId), ['1', '2', '3']);
    assert.equal(new Set(tasks.map((t) => t.taskId)).size, 3);
    assert.deepEqual(tasks[0]?.resources, { cpus: 0.5, memMb: 256, ports: [] });
    assert.deepEqual(tasks[0]?.upload, { url: 'http://fs/upload', name: 'out-1' });
    assert.equal(tasks[0]?.sourceUrl, 'http://src/1.png');
    assert.equal(sent[0]?.call.kind === 'launch' && sent[0].call.offerId, 'o1');
  });

  it('launches the jobs it did fetch when a sibling fetch fails', async () => {
    queue.add('1');
    queue.add('2');
    const take = queue.take.bind(queue);
    let calls = 0;
    queue.take = async (token) => (++calls === 2 ? Promise.reject(new Error('connection reset')) : take(token));
    await scheduler.handleEvents([offer('o1', 1.5)]);
    assert.deepEqual(launched().map((t) => t.jobId), ['1', '2']);
  });

  it('declines with the refuse period when there is no work, and revives once jobs arrive', async () => {
    await scheduler.handleEvents([offer('o1', 2)]);
    assert.deepEqual(sent.map((s) => s.call), [{ kind: 'decline', offerId: 'o1', refuseSeconds: 5 }]);
    await scheduler.reviveIfWork();
    assert.equal(sent.length, 1, 'no revive without work');
    queue.add('1');
    await scheduler.reviveIfWork();
    assert.deepEqual(sent[1], { to: 'e1', call: { kind: 'revive' } });
    await scheduler.reviveIfWork();
    assert.equal(sent.length, 2, 'revived once');
  });

  it('declines an offer too small for one task with refuse 0, without touching the queue', async () => {
    queue.add('1');
    await scheduler.handleEvents([offer('o1', 0.25)]);
    assert.deepEqual(sent.map((s) => s.call), [{ kind: 'decline', offerId: 'o1', refuseSeconds: 0 }]);
    assert.equal(queue.waiting.length, 1);
  });

  it('ignores an expired offer', async () => {
    queue.add('1');
    const stale = offer('o1', 2);
    if (stale.kind === 'offer') stale.offer.expiresAtMs = now - 1;
    await scheduler.handleEvents([stale]);
    assert.deepEqual(sent, []);
  });

  it('fails a job with invalid data for good instead of launching it', async () => {
    queue.add('bad', 'file:///etc/passwd');
    queue.add('good');
    await scheduler.handleEvents([offer('o1', 2)]);
    assert.deepEqual(queue.calls, ['fail bad INVALID_TASK']);
    assert.deepEqual(launched().map((t) => t.jobId), ['good']);
  });

  it('maps task statuses to job outcomes and acknowledges terminal updates once applied', async () => {
    for (const id of ['1', '2', '3', '4']) queue.add(id);
    await scheduler.handleEvents([offer('o1', 2)]);
    const [t1, t2, t3, t4] = launched().map((t) => t.taskId);
    await scheduler.handleEvents([
      update(t1!, { state: 'TASK_RUNNING', stage: 'invert' }),
      update(t1!, { state: 'TASK_FINISHED', stage: 'done', result, uuid: 'aa' }),
      update(t2!, { state: 'TASK_FAILED', reason: 'DOWNLOAD_NOT_FOUND', retryable: false, uuid: 'bb' }),
      update(t3!, { state: 'TASK_FAILED', reason: 'DOWNLOAD_TIMEOUT', retryable: true, uuid: 'cc' }),
      update(t4!, { state: 'TASK_LOST', reason: 'INVALID_OFFER', retryable: true, uuid: 'dd' }),
    ]);
    assert.deepEqual(queue.calls.sort(), ['complete 1 x.png', 'fail 2 DOWNLOAD_NOT_FOUND', 'requeue 4', 'retry 3 DOWNLOAD_TIMEOUT'].sort());
    const acks = sent.filter((s) => s.call.kind === 'acknowledge').map((s) => (s.call.kind === 'acknowledge' ? s.call.uuid : ''));
    assert.deepEqual(acks.sort(), ['aa', 'bb', 'cc', 'dd']);
    assert.ok(!queue.calls.some((c) => c.startsWith('progress 1')), 'RUNNING superseded in the same batch is not written');
  });

  it('writes RUNNING as progress with state and stage', async () => {
    queue.add('1');
    await scheduler.handleEvents([offer('o1', 0.5)]);
    await scheduler.handleEvents([update(launched()[0]!.taskId, { state: 'TASK_RUNNING', stage: 'upload' })]);
    assert.deepEqual(queue.calls, ['progress 1 TASK_RUNNING upload']);
  });

  it('applies a duplicate terminal update once but acknowledges it again', async () => {
    queue.add('1');
    await scheduler.handleEvents([offer('o1', 0.5)]);
    const taskId = launched()[0]!.taskId;
    const done = update(taskId, { state: 'TASK_FINISHED', stage: 'done', result, uuid: 'aa' });
    await scheduler.handleEvents([done]);
    await scheduler.handleEvents([done]);
    assert.deepEqual(queue.calls, ['complete 1 x.png']);
    assert.equal(sent.filter((s) => s.call.kind === 'acknowledge').length, 2);
  });

  it('ignores an update from an executor that does not run the task', async () => {
    queue.add('1');
    await scheduler.handleEvents([offer('o1', 0.5)]);
    await scheduler.handleEvents([update(launched()[0]!.taskId, { state: 'TASK_FINISHED', result, uuid: 'aa' }, 'e2')]);
    assert.deepEqual(queue.calls, []);
  });

  it('marks the tasks of an executor that stops heartbeating LOST and retries their jobs', async () => {
    queue.add('1');
    queue.add('2');
    await scheduler.handleEvents([offer('o1', 0.5, 'e1'), offer('o2', 0.5, 'e2')]);
    now += 6_000;
    await scheduler.handleEvents([{ executorId: 'e2', sentAtMs: now, kind: 'heartbeat', running: 1, tasks: [launched()[1]!.taskId] }]);
    now += 5_000;
    await scheduler.checkExecutors();
    assert.deepEqual(queue.calls, ['retry 1 EXECUTOR_LOST']);
  });

  it('requeues a task whose launch never reached its executor', async () => {
    queue.add('1');
    await scheduler.handleEvents([offer('o1', 0.5)]);
    const heartbeat = (): ExecutorEvent => ({ executorId: 'e1', sentAtMs: now, kind: 'heartbeat', running: 0, tasks: [] });
    now += 1_000;
    await scheduler.handleEvents([heartbeat()]);
    assert.deepEqual(queue.calls, [], 'a fresh launch may still be in flight');
    now += 10_000;
    await scheduler.handleEvents([heartbeat()]);
    assert.deepEqual(queue.calls, ['requeue 1']);
  });

  it('a re-registering executor loses the tasks it no longer runs', async () => {
    queue.add('1');
    await scheduler.handleEvents([offer('o1', 0.5)]);
    await scheduler.handleEvents([
      { executorId: 'e1', sentAtMs: now, kind: 'register', hostname: 'h', resources: { cpus: 2, memMb: 4096, ports: [] }, running: [], pid: 1 },
    ]);
    assert.deepEqual(queue.calls, ['retry 1 EXECUTOR_LOST']);
  });

  it('on drain, hands running jobs back and kills their tasks', async () => {
    queue.add('1');
    await scheduler.handleEvents([offer('o1', 0.5)]);
    await scheduler.drain();
    assert.deepEqual(queue.calls, ['requeue 1']);
    assert.ok(sent.some((s) => s.call.kind === 'kill'));
    await scheduler.handleEvents([offer('o2', 2)]);
    assert.deepEqual(sent.at(-1)?.call, { kind: 'decline', offerId: 'o2', refuseSeconds: 5 }, 'a draining scheduler launches nothing');
  });
});
