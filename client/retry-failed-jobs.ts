/**
 * Puts the jobs that failed for good back in the queue with their attempts reset (BullMQ
 * `job.retry`), and says how many and why they had failed.
 */
import type { Queue } from 'bullmq';
import type { ImageJobData } from '../common/queue.js';

export interface RetrySummary {
  retried: number;
  /** Failure reason (first line) -> how many of the retried jobs had it. */
  reasons: Map<string, number>;
  /** Jobs that could not be moved (e.g. retried or removed meanwhile). */
  skipped: { id: string; why: string }[];
}

const PAGE = 500;

export async function retryFailedJobs(queue: Queue<ImageJobData>): Promise<RetrySummary> {
  // A snapshot first: retried jobs leave the failed set, which would shift pages under us.
  const jobs = [];
  for (let start = 0; ; start += PAGE) {
    const page = await queue.getFailed(start, start + PAGE - 1);
    jobs.push(...page);
    if (page.length < PAGE) break;
  }
  const summary: RetrySummary = { retried: 0, reasons: new Map(), skipped: [] };
  for (const job of jobs) {
    // Read before retry(), which clears it on the job object.
    const reason = reasonKey(job.failedReason);
    try {
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      summary.retried += 1;
      summary.reasons.set(reason, (summary.reasons.get(reason) ?? 0) + 1);
    } catch (err) {
      summary.skipped.push({ id: String(job.id), why: err instanceof Error ? err.message : String(err) });
    }
  }
  return summary;
}

/** Reasons start with a stable code ("DOWNLOAD_NOT_FOUND: ..."); group by it when there is one. */
export function reasonKey(reason: string | undefined): string {
  const first = (reason ?? '').split('\n')[0]?.trim() ?? '';
  if (first === '') return 'no reason recorded';
  const code = /^([A-Z][A-Z0-9_]{2,})\b/.exec(first);
  return code?.[1] ?? (first.length > 80 ? `${first.slice(0, 80)}...` : first);
}

export function describeRetry(summary: RetrySummary, queueName: string): string[] {
  if (summary.retried === 0 && summary.skipped.length === 0) return [`no failed jobs in queue "${queueName}"`];
  const reasons = [...summary.reasons.entries()].sort((a, b) => b[1] - a[1]).map(([reason, n]) => `${n} ${reason}`);
  const lines = [`retried ${summary.retried} failed job${summary.retried === 1 ? '' : 's'} of queue "${queueName}"${reasons.length > 0 ? ` (${reasons.join(', ')})` : ''}`];
  for (const { id, why } of summary.skipped.slice(0, 5)) lines.push(`  not retried: ${id}: ${why}`);
  if (summary.skipped.length > 5) lines.push(`  ...and ${summary.skipped.length - 5} more not retried`);
  return lines;
}
