/**
 * What a job's end looks like from outside, decided purely: the progress it is left with (so a
 * finished job no longer reads TASK_RUNNING) and its one log line. apply-job-action.ts writes them.
 */
import type { ImageJobProgress } from '../common/queue.js';
import type { LogFields } from '../common/log.js';
import type { JobAction } from './status-to-job.js';

/** Where the run was when it ended; absent when it ended before running (cancelled, invalid, too large). */
export interface RunEnding {
  state: string;
  stage: string;
  executorId?: string;
}

/** The progress a job keeps once the action is applied; undefined for actions after which it runs again without a failure to show. */
export function finalProgress(action: JobAction, token: string, ending: RunEnding | undefined): ImageJobProgress | undefined {
  const executorId = ending?.executorId ?? (action.kind === 'complete' ? action.result.executorId : '');
  switch (action.kind) {
    case 'complete':
      return { state: 'TASK_FINISHED', stage: 'done', executorId, taskId: token, output: action.result.name };
    case 'retry':
    case 'fail': {
      // Ended before it ran: a cancel is a kill, anything else (invalid, too large) an error.
      const state = action.reason === 'CANCELLED' ? 'TASK_KILLED' : (ending?.state ?? 'TASK_ERROR');
      return { state, stage: ending?.stage ?? 'none', executorId, taskId: token, message: action.message };
    }
    case 'progress':
    case 'requeue':
    case 'delay':
      return undefined;
  }
}

/** What the queue said about a failed attempt: whether the job runs again, and after how long. */
export type RetryOutcome = { retrying: true; delayMs: number } | { retrying: false };

export interface OutcomeJob {
  id: string;
  url: string | undefined;
  /** Attempts made before this one. */
  attemptsMade: number;
  attempts: number;
}

export interface OutcomeLine {
  level: 'debug' | 'info' | 'warn';
  msg: string;
  fields: LogFields;
}

/** The one log line per job outcome; `retry` is what the queue did with a retried attempt. */
export function outcomeLine(action: JobAction, job: OutcomeJob, executorId: string | undefined, retry?: RetryOutcome): OutcomeLine | undefined {
  const attempt = `${job.attemptsMade + 1}/${job.attempts}`;
  const base: LogFields = { job: job.id, url: job.url, attempt };
  switch (action.kind) {
    case 'progress':
      return undefined;
    case 'complete':
      return { level: 'info', msg: 'job completed', fields: { ...base, output: action.result.name, executor: executorId } };
    case 'retry':
      if (retry?.retrying !== false) {
        return { level: 'info', msg: 'job attempt failed; will retry', fields: { ...base, reason: action.message, nextDelayMs: retry?.delayMs, executor: executorId } };
      }
      return { level: 'warn', msg: 'job failed for good', fields: { ...base, why: `attempt ${attempt}, no attempts left`, reason: action.message, executor: executorId } };
    case 'fail':
      if (action.reason === 'CANCELLED') return { level: 'info', msg: 'job cancelled', fields: { ...base, reason: action.message, executor: executorId } };
      return { level: 'warn', msg: 'job failed for good', fields: { ...base, why: 'not retryable', reason: action.message, executor: executorId } };
    case 'requeue':
      return { level: 'debug', msg: 'job requeued without spending an attempt', fields: { job: job.id, reason: action.message } };
    case 'delay':
      return { level: 'debug', msg: 'job waits for its source without spending an attempt', fields: { job: job.id, untilMs: action.untilMs, reason: action.message } };
  }
}
