/** A finished BullMQ job -> the library's JobResult. Pure: tested without Redis. */
import type { JobResult } from './types.js';

/** What of a BullMQ job this needs (a structural slice, so tests pass plain objects). */
export interface FinishedJobView {
  data?: { url?: string } | undefined;
  returnvalue?: { name?: string } | null | undefined;
  failedReason?: string | undefined;
  attemptsMade?: number | undefined;
  attemptsStarted?: number | undefined;
}

// The scheduler fails jobs with "CODE: message" (scheduler/status-to-job.ts).
const CODED = /^([A-Z][A-Z0-9_]+): ([\s\S]*)$/;

export function errorOf(failedReason: string | undefined): { code: string; message: string } {
  const reason = failedReason ?? '';
  const m = CODED.exec(reason);
  if (m) return { code: m[1]!, message: m[2]! };
  return { code: 'UNKNOWN', message: reason === '' ? 'failed without a reason' : reason };
}

/**
 * `state` is what the watcher saw: a completed job with a result is completed; a job that
 * vanished (removed, e.g. cancelled while waiting) is failed with code REMOVED.
 */
export function toJobResult(id: string, url: string, state: 'completed' | 'failed' | 'unknown', job: FinishedJobView | undefined): JobResult {
  const attempts = Math.max(job?.attemptsMade ?? 0, job?.attemptsStarted ?? 0);
  if (job === undefined || state === 'unknown') {
    return { id, url, state: 'failed', error: { code: 'REMOVED', message: 'the job was removed from the queue before it finished' }, attempts };
  }
  const name = job.returnvalue?.name;
  if (state === 'completed' && typeof name === 'string') return { id, url: job.data?.url ?? url, state: 'completed', output: name, attempts: Math.max(attempts, 1) };
  return { id, url: job.data?.url ?? url, state: 'failed', error: errorOf(job.failedReason), attempts };
}
