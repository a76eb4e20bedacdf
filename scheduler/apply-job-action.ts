/**
 * Carries out a JobAction on the BullMQ job, leaves it with its final progress, and logs one line
 * per job outcome (outcome-report.ts). A job this scheduler no longer holds (its lock was taken
 * back) is logged and left alone: retrying the same call could never succeed.
 */
import { describeError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { isLostJobError, type JobQueue, type QueuedJob } from './job-queue.js';
import { finalProgress, outcomeLine, type RetryOutcome, type RunEnding } from './outcome-report.js';
import type { JobAction } from './status-to-job.js';

export type AppliedOutcome = 'applied' | 'not-ours';

export async function applyJobAction(
  queue: JobQueue,
  log: Logger,
  job: QueuedJob,
  token: string,
  action: JobAction,
  executorId?: string,
  ending?: Omit<RunEnding, 'executorId'>,
): Promise<AppliedOutcome> {
  // Read before the move: BullMQ counts the attempt on the job object once it is applied.
  const described = { id: String(job.id), url: job.data?.url, attemptsMade: job.attemptsMade, attempts: job.opts.attempts ?? 1 };
  const progress = finalProgress(action, token, ending ? { ...ending, executorId } : undefined);
  let retry: RetryOutcome | undefined;
  try {
    switch (action.kind) {
      case 'progress':
        await queue.progress(job, action.progress);
        break;
      case 'complete':
        await queue.complete(job, token, action.result, progress);
        break;
      case 'retry':
        retry = await queue.retry(job, token, action.message, action.retryAfterMs, progress);
        break;
      case 'fail':
        await queue.failForGood(job, token, action.message, progress);
        break;
      case 'requeue':
        await queue.requeue(String(job.id), token, action.memMb === undefined ? undefined : { memMb: action.memMb });
        break;
      case 'delay':
        await queue.delay(job, token, action.untilMs);
        break;
    }
  } catch (err) {
    if (isLostJobError(err)) {
      log.warn('job no longer held by this run; outcome dropped', { job: job.id, token, error: describeError(err) });
      return 'not-ours';
    }
    throw err;
  }
  const line = outcomeLine(action, described, executorId, retry);
  if (line) log[line.level](line.msg, line.fields);
  return 'applied';
}
