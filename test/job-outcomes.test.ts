/**
 * Job outcomes against a real Redis through the real BullMQ adapter: each ends with one log line
 * (attempt N/M, and for a failure why it is final) and leaves the job with its final progress.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createLogger } from '../common/log.js';
import { JOB_NAME, type ImageJobData, type ImageJobResult } from '../common/queue.js';
import { applyJobAction } from '../scheduler/apply-job-action.js';
import { BullmqJobQueue } from '../scheduler/job-queue.js';
import { jsonLogLines } from './helpers/log-lines.js';
import { freshQueueName, testRedisUrl } from './helpers/redis.js';

describe('job outcomes: one log line each, and the final progress', () => {
  let redis: Redis;
  let bull: Redis;
  let queue: Queue<ImageJobData, ImageJobResult>;
  let jobs: BullmqJobQueue;
  let text = '';
  const log = createLogger({ proc: 'test' }, 'info', (line) => (text += line + '\n'));
  /** The outcome lines logged since the last call. */
  const logged = () => {
    const lines = jsonLogLines(text);
    text = '';
    return lines.map(({ level, time: _t, proc: _p, ...rest }) => ({ level, ...rest }));
  };

  before(async () => {
    const url = await testRedisUrl();
    redis = new Redis(url, { maxRetriesPerRequest: null });
    bull = new Redis(url, { maxRetriesPerRequest: null, enableAutoPipelining: true });
    const name = freshQueueName('outcomes');
    queue = new Queue(name, { connection: redis });
    jobs = new BullmqJobQueue(bull, { queueName: name, lockDurationMs: 5000 }, log);
  });
  after(async () => {
    await queue.obliterate({ force: true });
    await jobs.close();
    await queue.close();
    redis.disconnect();
    bull.disconnect();
  });

  const add = (id: string, attempts: number, backoff?: { type: string; delay: number }) =>
    queue.add(JOB_NAME, { url: `http://x/${id}.png`, output: id }, { jobId: id, attempts, ...(backoff ? { backoff } : {}) });
  const take = async (token: string) => {
    const job = await jobs.take(token);
    assert.ok(job);
    await applyJobAction(jobs, log, job, token, { kind: 'progress', progress: { state: 'TASK_RUNNING', stage: 'upload', executorId: 'e1', taskId: token } });
    return job;
  };
  const stored = async (id: string) => {
    const job = (await Job.fromId(queue, id))!;
    return { state: await job.getState(), progress: job.progress };
  };

  it('completed: the output and attempt; progress TASK_FINISHED at done', async () => {
    await add('ok', 3);
    const job = await take('t-ok');
    const result = { name: 'ok-1.png', executorId: 'e1' } as ImageJobResult;
    await applyJobAction(jobs, log, job, 't-ok', { kind: 'complete', result }, 'e1', { state: 'TASK_FINISHED', stage: 'upload' });
    assert.deepEqual(logged(), [{ level: 'info', job: 'ok', url: 'http://x/ok.png', attempt: '1/3', output: 'ok-1.png', executor: 'e1', msg: 'job completed' }]);
    assert.deepEqual(await stored('ok'), { state: 'completed', progress: { state: 'TASK_FINISHED', stage: 'done', executorId: 'e1', taskId: 't-ok', output: 'ok-1.png' } });
  });

  it('retried with the delay BullMQ chose, then failed for good with no attempts left', async () => {
    await add('flaky', 2, { type: 'fixed', delay: 60_000 });
    const first = await take('t-1');
    const action = { kind: 'retry', reason: 'DOWNLOAD_TIMEOUT', message: 'DOWNLOAD_TIMEOUT: no answer' } as const;
    await applyJobAction(jobs, log, first, 't-1', action, 'e1', { state: 'TASK_FAILED', stage: 'download' });
    assert.deepEqual(logged(), [
      { level: 'info', job: 'flaky', url: 'http://x/flaky.png', attempt: '1/2', reason: 'DOWNLOAD_TIMEOUT: no answer', nextDelayMs: 60_000, executor: 'e1', msg: 'job attempt failed; will retry' },
    ]);
    const failedOnce = { state: 'TASK_FAILED', stage: 'download', executorId: 'e1', taskId: 't-1', message: 'DOWNLOAD_TIMEOUT: no answer' };
    assert.deepEqual(await stored('flaky'), { state: 'delayed', progress: failedOnce });

    await queue.promoteJobs();
    const second = await take('t-2');
    await applyJobAction(jobs, log, second, 't-2', action, 'e2', { state: 'TASK_FAILED', stage: 'download' });
    assert.deepEqual(logged(), [
      { level: 'warn', job: 'flaky', url: 'http://x/flaky.png', attempt: '2/2', why: 'attempt 2/2, no attempts left', reason: 'DOWNLOAD_TIMEOUT: no answer', executor: 'e2', msg: 'job failed for good' },
    ]);
    assert.deepEqual(await stored('flaky'), { state: 'failed', progress: { ...failedOnce, executorId: 'e2', taskId: 't-2' } });
  });

  it('a failure that cannot be retried says so, whatever attempts are left', async () => {
    await add('gone', 5);
    const job = await take('t-gone');
    await applyJobAction(jobs, log, job, 't-gone', { kind: 'fail', reason: 'DOWNLOAD_NOT_FOUND', message: 'DOWNLOAD_NOT_FOUND: 404' }, 'e1', { state: 'TASK_FAILED', stage: 'download' });
    assert.deepEqual(logged(), [
      { level: 'warn', job: 'gone', url: 'http://x/gone.png', attempt: '1/5', why: 'not retryable', reason: 'DOWNLOAD_NOT_FOUND: 404', executor: 'e1', msg: 'job failed for good' },
    ]);
    assert.deepEqual(await stored('gone'), { state: 'failed', progress: { state: 'TASK_FAILED', stage: 'download', executorId: 'e1', taskId: 't-gone', message: 'DOWNLOAD_NOT_FOUND: 404' } });
  });

  it('cancelled before it ran', async () => {
    await add('stop', 3);
    const job = (await jobs.take('t-stop'))!;
    await applyJobAction(jobs, log, job, 't-stop', { kind: 'fail', reason: 'CANCELLED', message: 'CANCELLED: cancelled by a user before it ran' });
    assert.deepEqual(logged(), [{ level: 'info', job: 'stop', url: 'http://x/stop.png', attempt: '1/3', reason: 'CANCELLED: cancelled by a user before it ran', msg: 'job cancelled' }]);
    assert.deepEqual(await stored('stop'), {
      state: 'failed',
      progress: { state: 'TASK_KILLED', stage: 'none', executorId: '', taskId: 't-stop', message: 'CANCELLED: cancelled by a user before it ran' },
    });
  });
});
