/**
 * Cancelling image jobs: waiting and delayed ones are removed here; running ones are marked in
 * the cancel set for the leader, which kills their runs (TASK_KILLED, reason CANCELLED) and
 * fails the jobs as CANCELLED with no retry. Waits (bounded) to report how each one ended.
 */
import { Job, type Queue } from 'bullmq';
import type { RedisClient } from '../common/redis.js';
import type { Keys } from '../common/keys.js';
import type { ImageJobData } from '../common/queue.js';

export interface CancelSummary {
  removed: { waiting: string[]; delayed: string[] };
  /** Running jobs that ended as CANCELLED. */
  killed: string[];
  /** Running jobs that finished (completed or failed otherwise) before their kill arrived. */
  finishedAnyway: string[];
  /** Running jobs still running when the wait ended: the leader kills them when it can. */
  stillRunning: string[];
  alreadyFinished: string[];
  notFound: string[];
}

const REMOVABLE = new Set(['waiting', 'prioritized', 'delayed', 'waiting-children']);

export async function cancelJobs(
  queue: Queue<ImageJobData>,
  redis: RedisClient,
  keys: Keys,
  target: string[] | 'all',
  waitMs: number,
): Promise<CancelSummary> {
  const summary: CancelSummary = { removed: { waiting: [], delayed: [] }, killed: [], finishedAnyway: [], stillRunning: [], alreadyFinished: [], notFound: [] };
  const ids = target === 'all' ? (await queue.getJobs(['wait', 'prioritized', 'delayed', 'active'])).flatMap((j) => (j?.id ? [j.id] : [])) : [...new Set(target)];
  const running: string[] = [];
  for (const id of ids) {
    const job = await Job.fromId<ImageJobData>(queue, id);
    if (!job) {
      summary.notFound.push(id);
      continue;
    }
    const state = await job.getState();
    if (REMOVABLE.has(state)) {
      try {
        await job.remove();
        (state === 'delayed' ? summary.removed.delayed : summary.removed.waiting).push(id);
        continue;
      } catch {
        // Taken by the scheduler meanwhile: it is running now.
      }
    } else if (state !== 'active') {
      summary.alreadyFinished.push(id);
      continue;
    }
    running.push(id);
  }
  if (running.length > 0) await redis.sadd(keys.cancelled, ...running);
  const deadline = Date.now() + waitMs;
  let pending = running;
  while (pending.length > 0) {
    const next: string[] = [];
    for (const id of pending) {
      const job = await Job.fromId<ImageJobData>(queue, id);
      const state = job ? await job.getState() : 'unknown';
      if (state === 'failed' && /^CANCELLED/.test(job?.failedReason ?? '')) summary.killed.push(id);
      else if (state === 'completed' || state === 'failed' || state === 'unknown') summary.finishedAnyway.push(id);
      else next.push(id);
    }
    pending = next;
    if (pending.length === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  summary.stillRunning = pending;
  return summary;
}

export function describeSummary(s: CancelSummary): string[] {
  const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const cancelled = s.removed.waiting.length + s.removed.delayed.length + s.killed.length;
  const parts = [
    s.removed.waiting.length ? `${s.removed.waiting.length} waiting removed` : '',
    s.removed.delayed.length ? `${s.removed.delayed.length} delayed removed` : '',
    s.killed.length ? `${s.killed.length} running killed` : '',
  ].filter(Boolean);
  const lines = [`cancelled ${plural(cancelled, 'job')}${parts.length ? `: ${parts.join(', ')}` : ''}`];
  if (s.stillRunning.length) lines.push(`still stopping (the scheduler kills them as soon as it can): ${s.stillRunning.join(', ')}`);
  if (s.finishedAnyway.length) lines.push(`finished before the kill arrived: ${s.finishedAnyway.join(', ')}`);
  if (s.alreadyFinished.length) lines.push(`already finished, left alone: ${s.alreadyFinished.join(', ')}`);
  if (s.notFound.length) lines.push(`no such job: ${s.notFound.join(', ')}`);
  return lines;
}
