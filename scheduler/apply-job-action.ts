/**
 * Carries out a JobAction on the BullMQ job, and logs one line per job outcome. A job this
 * scheduler no longer holds (its lock was taken back) is logged and left alone: retrying the
 * same call could never succeed.
 */
import { describeError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { isLostJobError, type JobQueue, type QueuedJob } from './job-queue.js';
import type { JobAction } from './status-to-job.js';

export type AppliedOutcome = 'applied' | 'not-ours';

export async function applyJobAction(
  queue: JobQueue,
  log: Logger,
  job: QueuedJob,
  token: string,
  action: JobAction,
  executorId?: string,
): Promise<AppliedOutcome> {
  const attempt = `${job.attemptsMade + 1}/${job.opts.attempts ?? 1}`;
  try {
    switch (action.kind) {
      case 'progress':
        await queue.progress(job, action.progress);
        break;
      case 'complete':
        await queue.complete(job, token, action.result);
        log.info('job completed', { job: job.id, output: action.result.name, executor: executorId, attempt });
        break;
      case 'retry': {
        await queue.retry(job, token, action.message, action.retryAfterMs);
        const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        if (last) log.warn('job failed for good: no attempts left', { job: job.id, url: job.data?.url, attempt, reason: action.message });
        else log.info('job attempt failed; will retry', { job: job.id, attempt, reason: action.message });
        break;
      }
      case 'fail':
        await queue.failForGood(job, token, action.message);
        log.warn('job failed for good', { job: job.id, url: job.data?.url, attempt, reason: action.message });
        break;
      case 'requeue':
        await queue.requeue(String(job.id), token, action.memMb === undefined ? undefined : { memMb: action.memMb });
        log.debug('job requeued without spending an attempt', { job: job.id, reason: action.message });
        break;
      case 'delay':
        await queue.delay(job, token, action.untilMs);
        log.debug('job waits for its source without spending an attempt', { job: job.id, untilMs: action.untilMs, reason: action.message });
        break;
    }
    return 'applied';
  } catch (err) {
    if (isLostJobError(err)) {
      log.warn('job no longer held by this run; outcome dropped', { job: job.id, token, error: describeError(err) });
      return 'not-ours';
    }
    throw err;
  }
}
