/** The BullMQ adapter against a real Redis: each outcome leaves the job where the scheduler expects. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { silentLogger } from '../common/log.js';
import { JOB_NAME, type ImageJobData, type ImageJobResult } from '../common/queue.js';
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
    jobs = new BullmqJobQueue(bull, { queueName: name, lockDurationMs: 5000, stalledIntervalMs: 30_000 }, silentLogger);
  });
  after(async () => {
    await jobs.close();
    await queue.close();
    redis.disconnect();
    bull.disconnect();
  });

  const add = (id: string) =>
    queue.add(JOB_NAME, { url: `http://x/${id}.png`, output: id }, { jobId: id, attempts: 3, backoff: { type: 'fixed', delay: 60_000 } });
  const state = async (id: string) => (await Job.fromId(queue, id))!;

  it('take locks a waiting job with the token; nothing left means undefined', async () => {
    assert.equal(await jobs.hasRunnableJobs(Date.now()), false);
    await add('a');
    assert.equal(await jobs.hasRunnableJobs(Date.now()), true);
    const job = await jobs.take('token-a');
    assert.equal(job?.id, 'a');
    assert.equal(await job!.getState(), 'active');
    assert.equal(await jobs.extendLock(job!, 'token-a', 5000), true);
    assert.equal(await jobs.extendLock(job!, 'someone-else', 5000), false);
    assert.equal(await jobs.take('token-b'), undefined);
    await jobs.complete(job!, 'token-a', { name: 'a.png' } as ImageJobResult);
    const done = await state('a');
    assert.equal(await done.getState(), 'completed');
    assert.deepEqual(done.returnvalue, { name: 'a.png' });
  });

  it('requeue puts the job back to wait without spending an attempt', async () => {
    await add('b');
    const job = (await jobs.take('token-b'))!;
    await jobs.requeue(job, 'token-b');
    const again = await state('b');
    assert.equal(await again.getState(), 'waiting');
    assert.equal(again.attemptsMade, 0);
    const retaken = (await jobs.take('token-b2'))!;
    assert.equal(retaken.id, 'b');
    await jobs.complete(retaken, 'token-b2', { name: 'b.png' } as ImageJobResult);
  });

  it('failRetryable spends an attempt and schedules the backoff; delayed jobs count once due', async () => {
    await add('c');
    const job = (await jobs.take('token-c'))!;
    await jobs.failRetryable(job, 'token-c', 'DOWNLOAD_TIMEOUT: slow');
    const retried = await state('c');
    assert.equal(await retried.getState(), 'delayed');
    assert.equal(retried.attemptsMade, 1);
    assert.equal(await jobs.hasRunnableJobs(Date.now()), false, 'not due yet');
    assert.equal(await jobs.hasRunnableJobs(Date.now() + 61_000), true, 'due after the backoff');
  });

  it('failPermanent fails the job although attempts remain', async () => {
    await add('d');
    const job = (await jobs.take('token-d'))!;
    await jobs.failPermanent(job, 'token-d', 'DOWNLOAD_NOT_FOUND: 404');
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
