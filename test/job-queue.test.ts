/** The BullMQ adapter against a real Redis: each outcome leaves the job where the scheduler expects. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { silentLogger } from '../common/log.js';
import { BACKOFF_TYPE, JOB_NAME, type ImageJobData, type ImageJobResult } from '../common/queue.js';
import { BullmqJobQueue } from '../scheduler/job-queue.js';
import { freshQueueName, testRedisUrl } from './helpers/redis.js';

describe('BullmqJobQueue', () => {
  let redis: Redis;
  let queue: Queue<ImageJobData, ImageJobResult>;
  let jobs: BullmqJobQueue;
  let bull: Redis;

  before(async () => {
    const url = await testRedisUrl();
    const name = freshQueueName('jobqueue');
    redis = new Redis(url, { maxRetriesPerRequest: null });
    queue = new Queue(name, { connection: redis });
    bull = new Redis(url, { maxRetriesPerRequest: null });
    jobs = new BullmqJobQueue(bull, { queueName: name, lockDurationMs: 5000 }, silentLogger);
  });
  after(async () => {
    await queue.obliterate({ force: true });
    await jobs.close();
    await queue.close();
    redis.disconnect();
    bull.disconnect();
  });

  const add = (id: string, backoff: { type: string; delay: number } = { type: 'fixed', delay: 60_000 }) =>
    queue.add(JOB_NAME, { url: `http://x/${id}.png`, output: id }, { jobId: id, attempts: 3, backoff });
  const state = async (id: string) => (await Job.fromId(queue, id))!;
  const lockOf = (id: string) => redis.get(`bull:${queue.name}:${id}:lock`);

  it('take locks a waiting job with the token; nothing left means undefined', async () => {
    assert.equal(await jobs.hasRunnableJobs(Date.now()), false);
    await add('a');
    assert.equal(await jobs.hasRunnableJobs(Date.now()), true);
    const job = await jobs.take('token-a');
    assert.equal(job?.id, 'a');
    assert.equal(await job!.getState(), 'active');
    assert.equal(await lockOf('a'), 'token-a');
    assert.deepEqual(await jobs.activeJobs(), [{ id: 'a', lockToken: 'token-a' }]);
    assert.equal(await jobs.take('token-b'), undefined);
    await jobs.complete(job!, 'token-a', { name: 'a.png' } as ImageJobResult);
    const done = await state('a');
    assert.equal(await done.getState(), 'completed');
    assert.deepEqual(done.returnvalue, { name: 'a.png' });
  });

  it('keepLocks extends its own locks, retakes an expired one of an active job, and reports the rest lost', async () => {
    await add('k1');
    await add('k2');
    const k1 = (await jobs.take('tok-k1'))!;
    const k2 = (await jobs.take('tok-k2'))!;
    await redis.del(`bull:${queue.name}:k2:lock`); // expired while a leader was away
    const lost = await jobs.keepLocks(
      [
        { jobId: 'k1', token: 'tok-k1' },
        { jobId: 'k2', token: 'tok-k2' },
        { jobId: 'k1', token: 'someone-else' },
        { jobId: 'a', token: 'token-a' }, // completed earlier: not active
      ],
      5000,
    );
    assert.deepEqual(lost.sort(), ['someone-else', 'token-a']);
    assert.equal(await lockOf('k2'), 'tok-k2', 'the expired lock was retaken');
    const ttl = await redis.pttl(`bull:${queue.name}:k1:lock`);
    assert.ok(ttl > 4000 && ttl <= 5000, `extended to the duration, got ${ttl}`);
    await jobs.complete(k1, 'tok-k1', { name: 'k1' } as ImageJobResult);
    await jobs.complete(k2, 'tok-k2', { name: 'k2' } as ImageJobResult);
  });

  it('requeue puts the job back to wait without spending an attempt, only for the lock holder', async () => {
    await add('b');
    await jobs.take('token-b');
    await jobs.requeue('b', 'token-b');
    const again = await state('b');
    assert.equal(await again.getState(), 'waiting');
    assert.equal(again.attemptsMade, 0);
    await jobs.take('token-b3');
    await assert.rejects(jobs.requeue('b', 'not-the-holder'));
    await jobs.complete(await state('b'), 'token-b3', { name: 'b.png' } as ImageJobResult);
  });

  it('reclaim moves an active job only while its lock is what was seen (or still absent)', async () => {
    await add('r1');
    await jobs.take('tok-r1');
    assert.equal(await jobs.reclaim('r1', 'someone-else'), false, 'the lock changed since');
    assert.equal(await jobs.reclaim('r1', null), false, 'a lock is held');
    assert.equal(await jobs.reclaim('r1', 'tok-r1'), true);
    assert.equal(await (await state('r1')).getState(), 'waiting');
    await jobs.take('tok-r1b');
    await redis.del(`bull:${queue.name}:r1:lock`); // expired
    assert.equal(await jobs.reclaim('r1', null), true);
    assert.equal(await lockOf('r1'), null, 'no lock left behind');
    assert.equal((await state('r1')).attemptsMade, 0);
    await jobs.take('tok-r1c');
    await jobs.complete(await state('r1'), 'tok-r1c', { name: 'r1' } as ImageJobResult);
  });

  it('retry spends an attempt and schedules the backoff; delayed jobs count once due', async () => {
    await add('c');
    const job = (await jobs.take('token-c'))!;
    await jobs.retry(job, 'token-c', 'DOWNLOAD_TIMEOUT: slow');
    const retried = await state('c');
    assert.equal(await retried.getState(), 'delayed');
    assert.equal(retried.attemptsMade, 1);
    assert.equal(retried.failedReason, 'DOWNLOAD_TIMEOUT: slow');
    assert.equal(await jobs.hasRunnableJobs(Date.now()), false, 'not due yet');
    assert.equal(await jobs.hasRunnableJobs(Date.now() + 61_000), true, 'due after the backoff');
  });

  it('retry with our backoff type waits at least the Retry-After', async () => {
    await add('r', { type: BACKOFF_TYPE, delay: 10 });
    const job = (await jobs.take('token-r'))!;
    const before = Date.now();
    await jobs.retry(job, 'token-r', 'DOWNLOAD_HTTP_5XX: 503', 40_000);
    const retried = await state('r');
    assert.equal(await retried.getState(), 'delayed');
    assert.ok(retried.timestamp + retried.delay >= before + 40_000 || retried.delay >= 40_000, `delay ${retried.delay}`);
  });

  it('delay waits without spending an attempt', async () => {
    await add('w');
    const job = (await jobs.take('token-w'))!;
    await jobs.delay(job, 'token-w', Date.now() + 30_000);
    const waiting = await state('w');
    assert.equal(await waiting.getState(), 'delayed');
    assert.equal(waiting.attemptsMade, 0);
  });

  it('failForGood fails the job although attempts remain', async () => {
    await add('d');
    const job = (await jobs.take('token-d'))!;
    await jobs.failForGood(job, 'token-d', 'DOWNLOAD_NOT_FOUND: 404');
    const failed = await state('d');
    assert.equal(await failed.getState(), 'failed');
    assert.equal(failed.failedReason, 'DOWNLOAD_NOT_FOUND: 404');
  });

  it('progress is stored on the job', async () => {
    await add('e');
    const job = (await jobs.take('token-e'))!;
    await jobs.progress(job, { state: 'TASK_RUNNING', stage: 'invert', executorId: 'x', taskId: 'token-e' });
    assert.deepEqual((await state('e')).progress, { state: 'TASK_RUNNING', stage: 'invert', executorId: 'x', taskId: 'token-e' });
  });
});
