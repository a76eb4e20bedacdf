import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TaskResult } from '../common/task-result.js';
import { statusToJobAction, type JobAction, type RunOutcome } from '../scheduler/status-to-job.js';

const run = { token: 't1', executorId: 'e1', sourceUrl: 'http://x/a.png' };
const result: TaskResult = {
  name: 'a-1.png', url: 'http://f/files/a-1.png', bytes: 10, width: 2, height: 3, format: 'png',
  durationMs: 5, downloadMs: 1, invertMs: 2, uploadMs: 2, sourceBytes: 9,
};
const outcome = (over: Partial<RunOutcome>): RunOutcome => ({ state: 'TASK_RUNNING', stage: 'download', message: '', ...over });

describe('statusToJobAction', () => {
  const cases: [string, Partial<RunOutcome>, JobAction['kind'], string?][] = [
    ['running becomes progress', { state: 'TASK_RUNNING', stage: 'invert' }, 'progress'],
    ['staging becomes progress', { state: 'TASK_STAGING', stage: 'none' }, 'progress'],
    ['finished with result completes', { state: 'TASK_FINISHED', result }, 'complete'],
    ['finished without result is retried', { state: 'TASK_FINISHED' }, 'retry', 'INTERNAL'],
    ['404 fails for good', { state: 'TASK_FAILED', reason: 'DOWNLOAD_NOT_FOUND', message: 'gone' }, 'fail', 'DOWNLOAD_NOT_FOUND'],
    ['undecodable fails for good', { state: 'TASK_FAILED', reason: 'IMAGE_UNDECODABLE' }, 'fail', 'IMAGE_UNDECODABLE'],
    ['unknown host fails for good', { state: 'TASK_FAILED', reason: 'DOWNLOAD_HOST_UNKNOWN' }, 'fail', 'DOWNLOAD_HOST_UNKNOWN'],
    ['malformed response fails for good', { state: 'TASK_FAILED', reason: 'DOWNLOAD_BAD_RESPONSE' }, 'fail', 'DOWNLOAD_BAD_RESPONSE'],
    ['an invalid task fails for good', { state: 'TASK_ERROR', reason: 'INVALID_TASK' }, 'fail', 'INVALID_TASK'],
    ['timeout is retried', { state: 'TASK_FAILED', reason: 'DOWNLOAD_TIMEOUT' }, 'retry', 'DOWNLOAD_TIMEOUT'],
    ['slow drip is retried', { state: 'TASK_FAILED', reason: 'DOWNLOAD_TOO_SLOW' }, 'retry', 'DOWNLOAD_TOO_SLOW'],
    ['5xx is retried', { state: 'TASK_FAILED', reason: 'DOWNLOAD_HTTP_5XX' }, 'retry', 'DOWNLOAD_HTTP_5XX'],
    ['executor lost is retried', { state: 'TASK_LOST', reason: 'EXECUTOR_LOST' }, 'retry', 'EXECUTOR_LOST'],
    ['lost without reason is retried as executor lost', { state: 'TASK_LOST' }, 'retry', 'EXECUTOR_LOST'],
    ['invalid offer is requeued without an attempt', { state: 'TASK_LOST', reason: 'INVALID_OFFER' }, 'requeue', 'INVALID_OFFER'],
    ['executor shutdown is requeued', { state: 'TASK_LOST', reason: 'EXECUTOR_SHUTDOWN' }, 'requeue', 'EXECUTOR_SHUTDOWN'],
    ['resources exceeded is requeued', { state: 'TASK_FAILED', reason: 'RESOURCES_EXCEEDED' }, 'requeue', 'RESOURCES_EXCEEDED'],
    ['killed is retried', { state: 'TASK_KILLED', reason: 'TASK_KILLED' }, 'retry', 'TASK_KILLED'],
    ['killed for a cancel fails as cancelled', { state: 'TASK_KILLED', reason: 'CANCELLED' }, 'fail', 'CANCELLED'],
    ['error without reason is internal and retried', { state: 'TASK_ERROR' }, 'retry', 'INTERNAL'],
  ];
  for (const [name, over, kind, reason] of cases) {
    it(name, () => {
      const action = statusToJobAction(outcome(over), run);
      assert.equal(action.kind, kind);
      if (reason) assert.equal('reason' in action ? action.reason : undefined, reason);
    });
  }

  it('a kill of a run a user cancelled fails the job as CANCELLED, whatever the reason sent', () => {
    const action = statusToJobAction(outcome({ state: 'TASK_KILLED', reason: 'TASK_KILLED' }), { ...run, cancelled: true });
    assert.deepEqual([action.kind, 'reason' in action && action.reason], ['fail', 'CANCELLED']);
  });

  it('a cancelled run that finished anyway completes', () => {
    assert.equal(statusToJobAction(outcome({ state: 'TASK_FINISHED', result }), { ...run, cancelled: true }).kind, 'complete');
  });

  it('carries Retry-After on a retry', () => {
    const action = statusToJobAction(outcome({ state: 'TASK_FAILED', reason: 'DOWNLOAD_HTTP_5XX', retryAfterMs: 7000 }), run);
    assert.equal(action.kind === 'retry' && action.retryAfterMs, 7000);
  });

  it('carries the result, source URL and executor into the return value', () => {
    const action = statusToJobAction(outcome({ state: 'TASK_FINISHED', result }), run);
    assert.deepEqual(action, { kind: 'complete', result: { ...result, sourceUrl: 'http://x/a.png', executorId: 'e1', taskId: 't1' } });
  });

  it('puts state and stage into progress', () => {
    const action = statusToJobAction(outcome({ state: 'TASK_RUNNING', stage: 'upload' }), run);
    assert.deepEqual(action, { kind: 'progress', progress: { state: 'TASK_RUNNING', stage: 'upload', executorId: 'e1', taskId: 't1' } });
  });

  it('failure messages lead with the reason code', () => {
    const action = statusToJobAction(outcome({ state: 'TASK_FAILED', reason: 'DOWNLOAD_NOT_FOUND', message: 'HTTP 404 for http://x/a.png' }), run);
    assert.equal(action.kind === 'fail' && action.message, 'DOWNLOAD_NOT_FOUND: HTTP 404 for http://x/a.png');
  });
});
