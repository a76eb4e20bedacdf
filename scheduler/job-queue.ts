/**
 * The scheduler's only door to BullMQ: manual fetching with a lock token per task.
 * The Worker has no processor, so nothing is fetched unless an offer asks for it, and locks
 * are extended explicitly while tasks run. The stalled-job check still runs here, so if the
 * scheduler dies, BullMQ puts its jobs back.
 */
import { Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../common/log.js';
import type { ImageJobData, ImageJobProgress, ImageJobResult } from '../common/queue.js';

export type QueuedJob = Job<ImageJobData, ImageJobResult>;

export interface JobQueue {
  take(token: string): Promise<QueuedJob | undefined>;
  progress(job: QueuedJob, progress: ImageJobProgress): Promise<void>;
  complete(job: QueuedJob, token: string, result: ImageJobResult): Promise<void>;
  /** Fails the attempt; BullMQ's attempts and backoff decide whether it runs again. */
  failRetryable(job: QueuedJob, token: string, message: string): Promise<void>;
  /** Fails the job for good, whatever attempts are left. */
  failPermanent(job: QueuedJob, token: string, message: string): Promise<void>;
  /** Puts the job back in the wait list without spending an attempt. */
  requeue(job: QueuedJob, token: string): Promise<void>;
  /** False when the lock is gone (the stalled check took the job back). */
  extendLock(job: QueuedJob, token: string, durationMs: number): Promise<boolean>;
  /** True when a job is waiting, or a delayed one (a retry's backoff) is due. */
  hasRunnableJobs(nowMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface BullmqJobQueueOptions {
  queueName: string;
  lockDurationMs: number;
  stalledIntervalMs: number;
}

export class BullmqJobQueue implements JobQueue {
  private readonly worker: Worker<ImageJobData, ImageJobResult>;
  private readonly queue: Queue<ImageJobData, ImageJobResult>;

  constructor(
    private readonly connection: Redis,
    opts: BullmqJobQueueOptions,
    log: Logger,
  ) {
    this.worker = new Worker<ImageJobData, ImageJobResult>(opts.queueName, null, {
      connection,
      autorun: false,
      lockDuration: opts.lockDurationMs,
      stalledInterval: opts.stalledIntervalMs,
      maxStalledCount: 2,
    });
    this.worker.on('error', (err) => log.warn('bullmq worker error', { error: err.message }));
    void this.worker.startStalledCheckTimer();
    this.queue = new Queue<ImageJobData, ImageJobResult>(opts.queueName, { connection });
    this.queue.on('error', (err) => log.warn('bullmq queue error', { error: err.message }));
  }

  async take(token: string): Promise<QueuedJob | undefined> {
    return (await this.worker.getNextJob(token, { block: false })) ?? undefined;
  }

  async progress(job: QueuedJob, progress: ImageJobProgress): Promise<void> {
    await job.updateProgress({ ...progress });
  }

  async complete(job: QueuedJob, token: string, result: ImageJobResult): Promise<void> {
    await job.moveToCompleted(result, token, false);
  }

  async failRetryable(job: QueuedJob, token: string, message: string): Promise<void> {
    await job.moveToFailed(new Error(message), token, false);
  }

  async failPermanent(job: QueuedJob, token: string, message: string): Promise<void> {
    await job.moveToFailed(new UnrecoverableError(message), token, false);
  }

  async requeue(job: QueuedJob, token: string): Promise<void> {
    await job.moveToWait(token);
  }

  async extendLock(job: QueuedJob, token: string, durationMs: number): Promise<boolean> {
    return (await job.extendLock(token, durationMs)) === 1;
  }

  async hasRunnableJobs(nowMs: number): Promise<boolean> {
    const counts = await this.queue.getJobCounts('wait', 'prioritized');
    if ((counts.wait ?? 0) + (counts.prioritized ?? 0) > 0) return true;
    // BullMQ scores delayed jobs as dueTimestamp * 0x1000 (+ a counter); due ones are promoted
    // by the next fetch, so an offer is worth asking for.
    const [, score] = await this.connection.zrange(this.queue.keys.delayed!, 0, 0, 'WITHSCORES');
    return score !== undefined && Number(score) / 0x1000 <= nowMs;
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.worker.close(), this.queue.close()]);
  }
}

/** BullMQ errors meaning "this job is no longer ours": retrying the same call cannot help. */
export function isLostJobError(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /lock|not in the active state|Missing key|does not exist/i.test(message);
}
