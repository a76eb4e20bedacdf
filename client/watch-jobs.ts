/**
 * Follows a set of jobs until each is completed or failed for good: QueueEvents for prompt
 * updates, plus a periodic state check so a missed event can never leave the watcher hanging.
 */
import { Job, type Queue, type QueueEvents } from 'bullmq';
import type { ImageJobData, ImageJobResult } from '../common/queue.js';

export interface BatchProgress {
  total: number;
  completed: number;
  failed: number;
  active: number;
  elapsedMs: number;
}

export interface CompletedJob {
  id: string;
  url: string;
  result: ImageJobResult;
}

export interface FailedJob {
  id: string;
  url: string;
  reason: string;
  attempts: number;
  /** The job's attempt budget (attempts N/M). */
  maxAttempts: number;
}

export interface BatchOutcome {
  completed: CompletedJob[];
  failed: FailedJob[];
  elapsedMs: number;
}

export interface WatchOptions {
  onProgress?: (progress: BatchProgress) => void;
  progressEveryMs?: number;
  reconcileEveryMs?: number;
}

const CHUNK = 200;

async function inChunks<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(...(await Promise.all(items.slice(i, i + CHUNK).map(fn))));
  return out;
}

export async function watchJobs(
  queue: Queue<ImageJobData, ImageJobResult>,
  events: QueueEvents,
  jobIds: readonly string[],
  opts: WatchOptions = {},
): Promise<BatchOutcome> {
  const started = Date.now();
  const pending = new Set(jobIds);
  const active = new Set<string>();
  const done = { completed: new Set<string>(), failed: new Set<string>() };
  let wake: () => void = () => undefined;

  const settle = (id: string, state: string) => {
    if (!pending.has(id)) return;
    if (state === 'completed' || state === 'failed' || state === 'unknown') {
      pending.delete(id);
      active.delete(id);
      (state === 'completed' ? done.completed : done.failed).add(id);
      if (pending.size === 0) wake();
    } else if (state === 'active') {
      active.add(id);
    } else {
      active.delete(id);
    }
  };
  const check = async (id: string) => settle(id, await queue.getJobState(id));

  const onCompleted = ({ jobId }: { jobId: string }) => settle(jobId, 'completed');
  // 'failed' fires for every failed attempt; only the job's state says whether it will run again.
  const onFailed = ({ jobId }: { jobId: string }) => void check(jobId).catch(() => undefined);
  const onActive = ({ jobId }: { jobId: string }) => settle(jobId, 'active');
  events.on('completed', onCompleted);
  events.on('failed', onFailed);
  events.on('active', onActive);

  const report = () =>
    opts.onProgress?.({
      total: jobIds.length,
      completed: done.completed.size,
      failed: done.failed.size,
      active: active.size,
      elapsedMs: Date.now() - started,
    });
  // Unref'd: the wait below is what keeps a caller alive, and a caller that gives up on it
  // (a test timing out) must not be held open by these timers.
  const progressTimer = setInterval(report, opts.progressEveryMs ?? 500).unref();
  const reconcile = async () => {
    await inChunks([...pending], check).catch(() => undefined);
  };
  const reconcileTimer = setInterval(() => void reconcile(), opts.reconcileEveryMs ?? 2000).unref();

  try {
    await reconcile(); // jobs may have finished before the listeners were attached
    if (pending.size > 0) await new Promise<void>((resolve) => (wake = resolve));
  } finally {
    clearInterval(progressTimer);
    clearInterval(reconcileTimer);
    events.off('completed', onCompleted);
    events.off('failed', onFailed);
    events.off('active', onActive);
  }
  report();

  const completed: CompletedJob[] = [];
  const failed: FailedJob[] = [];
  const jobs = await inChunks(jobIds, (id) => Job.fromId<ImageJobData, ImageJobResult>(queue, id));
  jobIds.forEach((id, i) => {
    const job = jobs[i];
    const url = job?.data?.url ?? '(job removed)';
    if (done.completed.has(id) && job?.returnvalue) completed.push({ id, url, result: job.returnvalue });
    else failed.push({ id, url, reason: job?.failedReason || 'job disappeared from the queue', attempts: job?.attemptsMade ?? 0, maxAttempts: job?.opts.attempts ?? 1 });
  });
  return { completed, failed, elapsedMs: Date.now() - started };
}
