/**
 * The scheduler's only door to BullMQ: manual fetching with a lock token per image run.
 * The Worker has no processor, so nothing is fetched unless an offer asks for it, and locks
 * are kept explicitly while tasks run. BullMQ's own stalled check is not used: the leader
 * returns active jobs nobody holds to the queue itself, at once and without counting a stall
 * (a failover is not the job's fault).
 */
import { randomUUID } from 'node:crypto';
import { Job, MetricsTime, Queue, UnrecoverableError, Worker } from 'bullmq';
import { type RedisClient, bullOptions } from '../common/redis.js';
import type { Logger } from '../common/log.js';
import { repeatedErrorLog } from '../common/redis.js';
import { retryDelayMs, type ImageJobData, type ImageJobProgress, type ImageJobResult } from '../common/queue.js';
import type { RetryOutcome } from './outcome-report.js';

export type QueuedJob = Job<ImageJobData, ImageJobResult>;

export interface ActiveJob {
  id: string;
  /** The value of the job's lock (our image token), or null when the lock expired. */
  lockToken: string | null;
}

export interface JobQueue {
  take(token: string): Promise<QueuedJob | undefined>;
  fetch(jobId: string): Promise<QueuedJob | undefined>;
  /** Every active job with its lock token. */
  activeJobs(): Promise<ActiveJob[]>;
  /**
   * Extends the lock of each (job, token); re-takes a lock that expired while the job is still
   * active (nobody else can have taken it: only the leader moves jobs). Returns the tokens whose
   * job is no longer theirs.
   */
  keepLocks(items: readonly { jobId: string; token: string }[], durationMs: number): Promise<string[]>;
  progress(job: QueuedJob, progress: ImageJobProgress): Promise<void>;
  /** Completes the job, leaving `progress` as its final progress (in the same round trip where it can). */
  complete(job: QueuedJob, token: string, result: ImageJobResult, progress?: ImageJobProgress): Promise<void>;
  /** Fails the attempt; the job's attempts and backoff decide whether it runs again. */
  retry(job: QueuedJob, token: string, message: string, retryAfterMs?: number, progress?: ImageJobProgress): Promise<RetryOutcome>;
  /** Fails the job for good, whatever attempts are left. */
  failForGood(job: QueuedJob, token: string, message: string, progress?: ImageJobProgress): Promise<void>;
  /** Back to waiting without spending an attempt; only the lock's holder can. `data` is merged into the job's first. */
  requeue(jobId: string, token: string, data?: Partial<ImageJobData>): Promise<void>;
  /**
   * Returns an active job nobody runs to the queue, without spending an attempt, but only if its
   * lock is still `expectedToken` (or, for null, still absent): never a job someone took since.
   * True when it moved.
   */
  reclaim(jobId: string, expectedToken: string | null): Promise<boolean>;
  /** Waits until `untilMs` without spending an attempt (a source host's outage). */
  delay(job: QueuedJob, token: string, untilMs: number): Promise<void>;
  /** True when a job is waiting, or a delayed one (a retry's backoff) is due. */
  hasRunnableJobs(nowMs: number): Promise<boolean>;
  /** BullMQ's state name ('waiting', 'active', ...), 'unknown' when the job is gone. */
  state(jobId: string): Promise<string>;
  /** Removes a job that is not running. */
  remove(jobId: string): Promise<void>;
  close(): Promise<void>;
}

export interface BullmqJobQueueOptions {
  queueName: string;
  lockDurationMs: number;
}

// Keeps (or re-takes) the locks of running jobs in one script call for all of them.
const KEEP_LOCKS = `
local lost = {}
for i = 3, #ARGV, 2 do
  local jobId = ARGV[i]
  local token = ARGV[i + 1]
  local lockKey = ARGV[1] .. jobId .. ':lock'
  local current = redis.call('GET', lockKey)
  local active = redis.call('LPOS', KEYS[1], jobId)
  if current == token and active then
    redis.call('SET', lockKey, token, 'PX', ARGV[2])
    redis.call('SREM', KEYS[2], jobId)
  elseif (not current) and active then
    redis.call('SET', lockKey, token, 'PX', ARGV[2])
    redis.call('SREM', KEYS[2], jobId)
  else
    table.insert(lost, token)
  end
end
return lost`;

// A job's last progress, written only while the job exists (a cancelled one may be gone). Unlike
// BullMQ's updateProgress it adds no 'progress' event to the queue's event stream: the move that
// follows adds its own 'completed' or 'failed' event, and the dispatch path pays for every command.
const FINAL_PROGRESS = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'progress', ARGV[1]) end
return 0`;

/** The connection with this module's Lua scripts defined on it (defineCommand). */
interface ScriptClient {
  keepLocks(active: string, stalled: string, prefix: string, durationMs: number, ...pairs: string[]): Promise<string[]>;
  finalProgress(jobKey: string, progress: string): Promise<number>;
}

/** A Retry-After travels to the backoff strategy on the error BullMQ hands it. */
class RetryError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
  }
}

export class BullmqJobQueue implements JobQueue {
  private readonly worker: Worker<ImageJobData, ImageJobResult>;
  private readonly queue: Queue<ImageJobData, ImageJobResult>;
  private readonly jobKeyPrefix: string;

  constructor(
    private readonly connection: RedisClient,
    opts: BullmqJobQueueOptions,
    log: Logger,
  ) {
    this.worker = new Worker<ImageJobData, ImageJobResult>(opts.queueName, null, {
      ...bullOptions(connection, opts.queueName),
      autorun: false,
      lockDuration: opts.lockDurationMs,
      // Makes BullMQ count completed and failed jobs (one HINCRBY inside the script that moves the
      // job anyway), so /metrics' bullmq_job_completed_total and _failed_total are real. An hour
      // of per-minute points is the least it keeps.
      metrics: { maxDataPoints: MetricsTime.ONE_HOUR },
      settings: {
        // Jobs enqueued by `enqueue` use BACKOFF_TYPE: exponential with jitter, never sooner
        // than the source's Retry-After.
        backoffStrategy: (attemptsMade, _type, err, job) =>
          retryDelayMs(job?.opts.backoff, attemptsMade, err instanceof RetryError ? err.retryAfterMs : undefined),
      },
    });
    // Connection errors reach these too, once per retry: the first and a summary per interval.
    const workerErrors = repeatedErrorLog(log, 'bullmq worker', {});
    this.worker.on('error', (err) => workerErrors.error(err));

    this.queue = new Queue<ImageJobData, ImageJobResult>(opts.queueName, bullOptions(connection, opts.queueName));
    const queueErrors = repeatedErrorLog(log, 'bullmq queue', {});
    this.queue.on('error', (err) => queueErrors.error(err));
    connection.on('ready', () => {
      workerErrors.recovered();
      queueErrors.recovered();
    });
    this.jobKeyPrefix = this.queue.toKey('');
    connection.defineCommand('keepLocks', { numberOfKeys: 2, lua: KEEP_LOCKS });
    connection.defineCommand('finalProgress', { numberOfKeys: 1, lua: FINAL_PROGRESS });
  }

  async take(token: string): Promise<QueuedJob | undefined> {
    return (await this.worker.getNextJob(token, { block: false })) ?? undefined;
  }

  async fetch(jobId: string): Promise<QueuedJob | undefined> {
    return (await Job.fromId<ImageJobData, ImageJobResult>(this.queue, jobId)) ?? undefined;
  }

  async activeJobs(): Promise<ActiveJob[]> {
    const ids = await this.connection.lrange(this.queue.keys.active!, 0, -1);
    if (ids.length === 0) return [];
    const locks = await this.connection.mget(...ids.map((id) => `${this.jobKeyPrefix}${id}:lock`));
    return ids.map((id, i) => ({ id, lockToken: locks[i] ?? null }));
  }

  async keepLocks(items: readonly { jobId: string; token: string }[], durationMs: number): Promise<string[]> {
    if (items.length === 0) return [];
    const pairs = items.flatMap((i) => [i.jobId, i.token]);
    const client = this.connection as unknown as ScriptClient;
    return client.keepLocks(this.queue.keys.active!, this.queue.keys.stalled!, this.jobKeyPrefix, durationMs, ...pairs);
  }

  async progress(job: QueuedJob, progress: ImageJobProgress): Promise<void> {
    await job.updateProgress({ ...progress });
  }

  async complete(job: QueuedJob, token: string, result: ImageJobResult, progress?: ImageJobProgress): Promise<void> {
    await this.withFinalProgress(job, progress, () => job.moveToCompleted(result, token, false));
  }

  async retry(job: QueuedJob, token: string, message: string, retryAfterMs?: number, progress?: ImageJobProgress): Promise<RetryOutcome> {
    await this.withFinalProgress(job, progress, () => job.moveToFailed(new RetryError(message, retryAfterMs), token, false));
    // BullMQ sets finishedOn only when the job failed for good, and delay to the backoff it chose.
    return job.finishedOn === undefined ? { retrying: true, delayMs: job.delay } : { retrying: false };
  }

  async failForGood(job: QueuedJob, token: string, message: string, progress?: ImageJobProgress): Promise<void> {
    await this.withFinalProgress(job, progress, () => job.moveToFailed(new UnrecoverableError(message), token, false));
  }

  async requeue(jobId: string, token: string, data?: Partial<ImageJobData>): Promise<void> {
    const job = await this.fetch(jobId);
    if (!job) return;
    if (data) await job.updateData({ ...job.data, ...data });
    await job.moveToWait(token);
  }

  async reclaim(jobId: string, expectedToken: string | null): Promise<boolean> {
    const job = await this.fetch(jobId);
    if (!job) return false;
    let token = expectedToken;
    if (token === null) {
      // Absent lock: take it for a moment (only if still absent), then move under it. BullMQ's
      // token '0' would skip the check, and leave a lock a stale run could keep extending.
      token = `reclaim-${randomUUID()}`;
      const taken = await this.connection.set(`${this.jobKeyPrefix}${jobId}:lock`, token, 'PX', 10_000, 'NX');
      if (taken !== 'OK') return false;
    }
    try {
      await job.moveToWait(token);
      return true;
    } catch (err) {
      if (isLostJobError(err)) return false;
      throw err;
    }
  }

  async delay(job: QueuedJob, token: string, untilMs: number): Promise<void> {
    await job.moveToDelayed(untilMs, token);
  }

  async hasRunnableJobs(nowMs: number): Promise<boolean> {
    const counts = await this.queue.getJobCounts('wait', 'prioritized');
    if ((counts.wait ?? 0) + (counts.prioritized ?? 0) > 0) return true;
    // BullMQ scores delayed jobs as dueTimestamp * 0x1000 (+ a counter); due ones are promoted
    // by the next fetch, so an offer is worth asking for.
    const [, score] = await this.connection.zrange(this.queue.keys.delayed!, 0, 0, 'WITHSCORES');
    return score !== undefined && Number(score) / 0x1000 <= nowMs;
  }

  async state(jobId: string): Promise<string> {
    return this.queue.getJobState(jobId);
  }

  async remove(jobId: string): Promise<void> {
    await this.queue.remove(jobId);
  }

  /**
   * The final progress is issued first, in the same tick as the move, on the same connection: with
   * auto-pipelining both share one write to Redis and run in order. The move decides; a progress
   * that could not be written is not worth failing the job for.
   */
  private async withFinalProgress(job: QueuedJob, progress: ImageJobProgress | undefined, move: () => Promise<unknown>): Promise<void> {
    const client = this.connection as unknown as ScriptClient;
    const written = progress ? client.finalProgress(`${this.jobKeyPrefix}${job.id}`, JSON.stringify(progress)).catch(() => undefined) : undefined;
    await move();
    await written;
  }

  /** BullMQ's own Prometheus text for the queue: job counts by state, completed and failed totals. */
  async exportPrometheusMetrics(): Promise<string> {
    return this.queue.exportPrometheusMetrics();
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.worker.close(), this.queue.close()]);
  }
}

/** BullMQ errors meaning "this job is no longer ours": retrying the same call cannot help. */
export function isLostJobError(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /lock|not in the active state|Missing key|does not exist|is not held/i.test(message);
}
