/**
 * Carries out a JobAction (decided by status-to-job.ts) on the BullMQ job. A job this scheduler
 * no longer holds (its lock expired and BullMQ took it back) is logged and left alone: retrying
 * the same call could never succeed.
 */
import { describeError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { isLostJobError, type JobQueue, type QueuedJob } from './job-queue.js';
import type { JobAction } from './status-to-job.js';

export async function applyJobAction(
  queue: JobQueue,
  log: Logger,
  job: QueuedJob,
  token: string,
  action: JobAction,
  executorId?: string,
): Promise<void> {
  try {
    switch (action.kind) {
      case 'progress':
        await queue.progress(job, action.progress);
        return;
      case 'complete':
        await queue.complete(job, token, action.result);
        log.info('job completed', { job: job.id, output: action.result.name, executor: executorId });
        return;
      case 'retry':
        await queue.failRetryable(job, token, action.message);
        log.warn('task failed, job will be retried if attempts remain', { job: job.id, reason: action.message });
        return;
      case 'fail':
        await queue.failPermanent(job, token, action.message);
        log.warn('job failed', { job: job.id, url: job.data?.url, reason: action.message });
        return;
      case 'requeue':
        await queue.requeue(job, token);
        log.debug('job requeued', { job: job.id, reason: action.message });
        return;
    }
  } catch (err) {
    if (isLostJobError(err)) {
      log.warn('job no longer held by this scheduler; outcome dropped', { job: job.id, error: describeError(err) });
      return;
    }
    throw err;
  }
}
