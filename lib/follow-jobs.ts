/**
 * Follows jobs until each completed or failed for good, handing out each result as it comes:
 * QueueEvents for prompt news, plus a periodic state check so a missed event (or a job that
 * finished before the listeners were attached) never leaves the caller waiting.
 */
import { Job, type Queue, type QueueEvents } from 'bullmq';
import type { ImageJobData, ImageJobResult } from '../common/queue.js';
import { WaitAbortedError, WaitTimeoutError } from './errors.js';
import { toJobResult } from './job-result.js';
import type { JobRef, JobResult, WaitOptions, WaitProgress } from './types.js';

const CHECK_CHUNK = 200;
const RECONCILE_EVERY_MS = 2000;

export async function* followJobs(
  queue: Queue<ImageJobData, ImageJobResult>,
  events: QueueEvents,
  refs: readonly JobRef[],
  opts: WaitOptions,
): AsyncGenerator<JobResult, void, undefined> {
  if (!Number.isFinite(opts.timeoutMs) || opts.timeoutMs < 0) throw new RangeError(`timeoutMs must be a number of milliseconds >= 0, got ${opts.timeoutMs}`);
  const started = Date.now();
  const urlOf = new Map(refs.map((r) => [r.id, r.url]));
  const pending = new Set(urlOf.keys());
  const total = pending.size;
  const active = new Set<string>();
  const settling = new Set<string>();
  const ready: JobResult[] = [];
  const finished: JobResult[] = [];
  let counts = { completed: 0, failed: 0 };
  let stop: Error | undefined;
  let wake: () => void = () => undefined;

  const settle = async (id: string, state: string) => {
    if (!pending.has(id) || settling.has(id)) return;
    if (state === 'completed' || state === 'failed' || state === 'unknown') {
      // Still pending while its job is read, so the loop below cannot end before it is handed out.
      settling.add(id);
      const job = await Job.fromId<ImageJobData, ImageJobResult>(queue, id).catch(() => undefined);
      settling.delete(id);
      pending.delete(id);
      active.delete(id);
      const result = toJobResult(id, urlOf.get(id) ?? '', state, job ?? undefined);
      counts = result.state === 'completed' ? { ...counts, completed: counts.completed + 1 } : { ...counts, failed: counts.failed + 1 };
      ready.push(result);
      finished.push(result);
      wake();
    } else if (state === 'active') active.add(id);
    else active.delete(id);
  };
  const check = async (id: string) => settle(id, await queue.getJobState(id));
  const reconcile = async () => {
    const ids = [...pending];
    for (let i = 0; i < ids.length; i += CHECK_CHUNK) await Promise.all(ids.slice(i, i + CHECK_CHUNK).map(check));
  };
  const progress = (): WaitProgress => ({ total, ...counts, active: active.size, elapsedMs: Date.now() - started });
  const fail = (err: Error) => {
    stop ??= err;
    wake();
  };

  // 'failed' fires for every failed attempt: only the job's state says whether it runs again.
  const onCompleted = ({ jobId }: { jobId: string }) => void settle(jobId, 'completed').catch(() => undefined);
  const onFailed = ({ jobId }: { jobId: string }) => void check(jobId).catch(() => undefined);
  const onActive = ({ jobId }: { jobId: string }) => void settle(jobId, 'active');
  const onRemoved = ({ jobId }: { jobId: string }) => void settle(jobId, 'unknown').catch(() => undefined);
  const onAbort = () => fail(new WaitAbortedError(finished, pendingRefs(), { cause: opts.signal?.reason }));
  const pendingRefs = () => [...pending].map((id) => ({ id, url: urlOf.get(id) ?? '' }));
  events.on('completed', onCompleted);
  events.on('failed', onFailed);
  events.on('active', onActive);
  events.on('removed', onRemoved);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();
  // Unref'd: the caller's own await is what keeps a process alive.
  const timeout = setTimeout(() => fail(new WaitTimeoutError(finished, pendingRefs(), opts.timeoutMs)), opts.timeoutMs).unref();
  const progressTimer = opts.onProgress ? setInterval(() => opts.onProgress?.(progress()), opts.progressEveryMs ?? 500).unref() : undefined;
  const reconcileTimer = setInterval(() => void reconcile().catch(() => undefined), RECONCILE_EVERY_MS).unref();

  try {
    await reconcile();
    for (;;) {
      while (ready.length > 0) yield ready.shift()!;
      if (stop) throw stop;
      if (pending.size === 0) break;
      await new Promise<void>((resolve) => (wake = resolve));
    }
    opts.onProgress?.(progress());
  } finally {
    clearTimeout(timeout);
    if (progressTimer) clearInterval(progressTimer);
    clearInterval(reconcileTimer);
    opts.signal?.removeEventListener('abort', onAbort);
    events.off('completed', onCompleted);
    events.off('failed', onFailed);
    events.off('active', onActive);
    events.off('removed', onRemoved);
  }
}
