/**
 * What a job in the BullMQ queue looks like, shared by `enqueue`, the scheduler and `batch`.
 */
import { createHash } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import { retryDelay } from './retry-delay.js';
import type { TaskResult } from './task-result.js';

export { DEFAULT_QUEUE_NAME } from './defaults.js';
export const JOB_NAME = 'invert';

export interface ImageJobData {
  url: string;
  /** Output file name without extension; derived from the URL so retries overwrite, never duplicate. */
  output: string;
  /** Set by the scheduler when a run found the image needs more memory than a task gets by default. */
  memMb?: number;
}

/** What a completed job returns (BullMQ `returnvalue`). */
export interface ImageJobResult extends TaskResult {
  sourceUrl: string;
  executorId: string;
  taskId: string;
}

/**
 * What `job.progress` holds while the task runs, and after it ended: TASK_FINISHED at stage
 * `done` with the output's name, or the failed run's state and stage with its message.
 */
export interface ImageJobProgress {
  state: string;
  stage: string;
  executorId: string;
  taskId: string;
  message?: string;
  output?: string;
}

export interface JobPolicy {
  attempts: number;
  /** First retry delay; doubled for each further attempt, with jitter, capped at MAX_RETRY_DELAY_MS. */
  backoffMs: number;
  keepCompletedSeconds: number;
  keepFailedSeconds: number;
}

/**
 * 8 attempts from 2 s: the retries of one job span about 4 minutes, long enough to ride out a
 * source's restart. Outages of a whole host are handled apart (its jobs wait without spending
 * attempts while its circuit is open), so these attempts are for one URL's own trouble.
 */
export const DEFAULT_JOB_POLICY: JobPolicy = {
  attempts: 8,
  backoffMs: 2000,
  keepCompletedSeconds: 7 * 24 * 3600,
  keepFailedSeconds: 30 * 24 * 3600,
};

/** Our backoff type: exponential with jitter, and never sooner than the source's Retry-After. */
export const BACKOFF_TYPE = 'jittered-exponential';
export const BACKOFF_JITTER = 0.5;
export const MAX_RETRY_DELAY_MS = 10 * 60 * 1000;

export function jobOptions(policy: JobPolicy): JobsOptions {
  return {
    attempts: policy.attempts,
    backoff: { type: BACKOFF_TYPE, delay: policy.backoffMs, jitter: BACKOFF_JITTER },
    removeOnComplete: { age: policy.keepCompletedSeconds, count: 100_000 },
    removeOnFail: { age: policy.keepFailedSeconds, count: 100_000 },
  };
}

/**
 * BullMQ's backoff strategy for our jobs: the delay before retry number `attemptsMade` (1 for the
 * first retry), by the one rule in common/retry-delay.ts. Pure; `random` is injectable for tests.
 */
export function retryDelayMs(
  backoff: { delay?: number; jitter?: number } | number | undefined,
  attemptsMade: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  // BullMQ hands back the job's own backoff option: a number or { delay, jitter }.
  const opts = typeof backoff === 'number' ? { delay: backoff } : (backoff ?? {});
  const firstMs = opts.delay ?? DEFAULT_JOB_POLICY.backoffMs;
  return retryDelay({ firstMs, maxMs: MAX_RETRY_DELAY_MS, jitter: opts.jitter ?? BACKOFF_JITTER }, attemptsMade, retryAfterMs, random);
}

/**
 * Deterministic output name for a source URL: a readable stem from the URL's last path
 * segment plus a hash of the whole URL, e.g. `cat-3f9a1c0b2d4e` for .../cat.png.
 */
export function outputStem(url: string): string {
  const hash = createHash('sha256').update(url).digest('hex').slice(0, 12);
  let last = '';
  try {
    last = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  } catch {
    last = '';
  }
  const stem = last
    .replace(/\.[A-Za-z0-9]{1,5}$/, '')
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return stem === '' ? hash : `${stem}-${hash}`;
}
