/**
 * What a job in the BullMQ queue looks like, shared by `enqueue`, the scheduler and `batch`.
 */
import { createHash } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import type { TaskResult } from '../protocol/types.js';

export const DEFAULT_QUEUE_NAME = 'images';
export const JOB_NAME = 'invert';

export interface ImageJobData {
  url: string;
  /** Output file name without extension; derived from the URL so retries overwrite, never duplicate. */
  output: string;
}

/** What a completed job returns (BullMQ `returnvalue`). */
export interface ImageJobResult extends TaskResult {
  sourceUrl: string;
  executorId: string;
  taskId: string;
}

/** What `job.progress` holds while the task runs. */
export interface ImageJobProgress {
  state: string;
  stage: string;
  executorId: string;
  taskId: string;
  message?: string;
}

export interface JobPolicy {
  attempts: number;
  backoffMs: number;
  keepCompletedSeconds: number;
  keepFailedSeconds: number;
}

export const DEFAULT_JOB_POLICY: JobPolicy = {
  attempts: 3,
  backoffMs: 1000,
  keepCompletedSeconds: 7 * 24 * 3600,
  keepFailedSeconds: 30 * 24 * 3600,
};

export function jobOptions(policy: JobPolicy): JobsOptions {
  return {
    attempts: policy.attempts,
    backoff: { type: 'exponential', delay: policy.backoffMs },
    removeOnComplete: { age: policy.keepCompletedSeconds, count: 100_000 },
    removeOnFail: { age: policy.keepFailedSeconds, count: 100_000 },
  };
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
