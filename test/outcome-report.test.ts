import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImageJobResult } from '../common/queue.js';
import { finalProgress, outcomeLine, type RetryOutcome } from '../scheduler/outcome-report.js';
import type { JobAction } from '../scheduler/status-to-job.js';

const job = { id: 'j1', url: 'http://x/a.png', attemptsMade: 2, attempts: 4 };
const complete: JobAction = { kind: 'complete', result: { name: 'a-1.png', executorId: 'e9' } as ImageJobResult };
const retry: JobAction = { kind: 'retry', reason: 'DOWNLOAD_HTTP_5XX', message: 'DOWNLOAD_HTTP_5XX: 503' };
const fail: JobAction = { kind: 'fail', reason: 'IMAGE_UNDECODABLE', message: 'IMAGE_UNDECODABLE: bad' };
const cancel: JobAction = { kind: 'fail', reason: 'CANCELLED', message: 'CANCELLED: by a user' };
const requeue: JobAction = { kind: 'requeue', reason: 'EXECUTOR_SHUTDOWN', message: 'EXECUTOR_SHUTDOWN: x' };

describe('outcomeLine', () => {
  const cases: [string, JobAction, RetryOutcome | undefined, string | undefined, Record<string, unknown>][] = [
    ['completed counts this attempt', complete, undefined, 'job completed', { attempt: '3/4', output: 'a-1.png' }],
    ['a retry that runs again gives the delay', retry, { retrying: true, delayMs: 8000 }, 'job attempt failed; will retry', { attempt: '3/4', nextDelayMs: 8000 }],
    ['a retry BullMQ did not run again is final', retry, { retrying: false }, 'job failed for good', { why: 'attempt 3/4, no attempts left' }],
    ['a non-retryable failure says so', fail, undefined, 'job failed for good', { why: 'not retryable', reason: 'IMAGE_UNDECODABLE: bad' }],
    ['a cancel is not a failure', cancel, undefined, 'job cancelled', { reason: 'CANCELLED: by a user' }],
    ['a requeue is a debug line only', requeue, undefined, 'job requeued without spending an attempt', {}],
  ];
  for (const [name, action, r, msg, fields] of cases) {
    it(name, () => {
      const line = outcomeLine(action, job, 'e1', r);
      assert.equal(line?.msg, msg);
      for (const [k, v] of Object.entries(fields)) assert.deepEqual(line?.fields[k], v, k);
    });
  }
  it('progress updates log nothing', () => assert.equal(outcomeLine({ kind: 'progress', progress: { state: 'TASK_RUNNING', stage: 'x', executorId: 'e', taskId: 't' } }, job, 'e1'), undefined));
});

describe('finalProgress', () => {
  const ran = { state: 'TASK_FAILED', stage: 'upload', executorId: 'e1' };
  const cases: [string, JobAction, typeof ran | undefined, unknown][] = [
    ['completed: finished at done with the output', complete, ran, { state: 'TASK_FINISHED', stage: 'done', executorId: 'e1', taskId: 't', output: 'a-1.png' }],
    ['completed without an ending takes the executor from the result', complete, undefined, { state: 'TASK_FINISHED', stage: 'done', executorId: 'e9', taskId: 't', output: 'a-1.png' }],
    ['failed where it failed', fail, ran, { state: 'TASK_FAILED', stage: 'upload', executorId: 'e1', taskId: 't', message: 'IMAGE_UNDECODABLE: bad' }],
    ['failed before running is an error at none', fail, undefined, { state: 'TASK_ERROR', stage: 'none', executorId: '', taskId: 't', message: 'IMAGE_UNDECODABLE: bad' }],
    ['a cancel is a kill', cancel, { ...ran, state: 'TASK_KILLED' }, { state: 'TASK_KILLED', stage: 'upload', executorId: 'e1', taskId: 't', message: 'CANCELLED: by a user' }],
    ['a requeue leaves progress alone', requeue, ran, undefined],
  ];
  for (const [name, action, ending, expected] of cases) it(name, () => assert.deepEqual(finalProgress(action, 't', ending), expected));
});
