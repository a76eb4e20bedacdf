import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { statusToJobAction, type JobAction } from '../scheduler/status-to-job.js';
import type { TaskResult, TaskStatus } from '../protocol/types.js';

const task = { taskId: 't1', executorId: 'e1', sourceUrl: 'http://x/a.png' };
const result: TaskResult = {
  name: 'a-1.png', url: 'http://f/files/a-1.png', bytes: 10, width: 2, height: 3, format: 'png',
  durationMs: 5, downloadMs: 1, invertMs: 2, uploadMs: 2, sourceBytes: 9,
};
const status = (over: Partial<TaskStatus>): TaskStatus => ({
  taskId: 't1', jobId: 'j1', executorId: 'e1', state: 'TASK_RUNNING', stage: 'download', retryable: false, message: '', timestamp: 1, ...over,
});

describe('statusToJobAction', () => {
  const cases: [string, Partial<TaskStatus>, JobAction['kind'], string?][] = [
    ['running becomes progress', { state: 'TASK_RUNNING', stage: 'invert' }, 'progress'],
    ['staging becomes progress', { state: 'TASK_STAGING', stage: 'none' }, 'progress'],
    ['finished with result completes', { state: 'TASK_FINISHED', result }, 'complete'],
    ['finished without result is retried', { state: 'TASK_FINISHED' }, 'retry', 'INTERNAL'],
    ['404 fails for good', { state: 'TASK_FAILED', reason: 'DOWNLOAD_NOT_FOUND', retryable: false, message: 'gone' }, 'fail', 'DOWNLOAD_NOT_FOUND'],
    ['undecodable fails for good', { state: 'TASK_FAILED', reason: 'IMAGE_UNDECODABLE', retryable: false }, 'fail', 'IMAGE_UNDECODABLE'],
    ['timeout is retried', { state: 'TASK_FAILED', reason: 'DOWNLOAD_TIMEOUT', retryable: true }, 'retry', 'DOWNLOAD_TIMEOUT'],
    ['5xx is retried', { state: 'TASK_FAILED', reason: 'DOWNLOAD_HTTP_5XX', retryable: true }, 'retry', 'DOWNLOAD_HTTP_5XX'],
    ['executor lost is retried', { state: 'TASK_LOST', reason: 'EXECUTOR_LOST', retryable: true }, 'retry', 'EXECUTOR_LOST'],
    ['lost without reason is retried as executor lost', { state: 'TASK_LOST' }, 'retry', 'EXECUTOR_LOST'],
    ['invalid offer is requeued without an attempt', { state: 'TASK_LOST', reason: 'INVALID_OFFER', retryable: true }, 'requeue', 'INVALID_OFFER'],
    ['executor shutdown is requeued', { state: 'TASK_LOST', reason: 'EXECUTOR_SHUTDOWN', retryable: true }, 'requeue', 'EXECUTOR_SHUTDOWN'],
    ['killed is retried', { state: 'TASK_KILLED', reason: 'TASK_KILLED' }, 'retry', 'TASK_KILLED'],
    ['error without reason is internal and permanent unless retryable', { state: 'TASK_ERROR' }, 'fail', 'INTERNAL'],
  ];
  for (const [name, over, kind, reason] of cases) {
    it(name, () => {
      const action = statusToJobAction(status(over), task);
      assert.equal(action.kind, kind);
      if (reason) assert.equal('reason' in action ? action.reason : undefined, reason);
    });
  }

  it('carries the result, source URL and executor into the return value', () => {
    const action = statusToJobAction(status({ state: 'TASK_FINISHED', result }), task);
    assert.deepEqual(action, { kind: 'complete', result: { ...result, sourceUrl: 'http://x/a.png', executorId: 'e1', taskId: 't1' } });
  });

  it('puts state and stage into progress', () => {
    const action = statusToJobAction(status({ state: 'TASK_RUNNING', stage: 'upload' }), task);
    assert.deepEqual(action, { kind: 'progress', progress: { state: 'TASK_RUNNING', stage: 'upload', executorId: 'e1', taskId: 't1' } });
  });

  it('failure messages lead with the reason code', () => {
    const action = statusToJobAction(status({ state: 'TASK_FAILED', reason: 'DOWNLOAD_NOT_FOUND', message: 'HTTP 404 for http://x/a.png' }), task);
    assert.equal(action.kind === 'fail' && action.message, 'DOWNLOAD_NOT_FOUND: HTTP 404 for http://x/a.png');
  });
});
