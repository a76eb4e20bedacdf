/**
 * Enqueue-side helpers shared by the runs that go through BullMQ, (b) and (c): the job policy,
 * completion by polling counts (the queue is private to the run, and the benchmark adds no
 * event-stream reader to the machine it measures), and the results read back afterwards.
 */
import { Job, type Queue } from 'bullmq';
import { type RedisClient, scanKeys, queueKeys } from '../common/redis.js';
import { DEFAULT_JOB_POLICY, type ImageJobData, type JobPolicy } from '../common/queue.js';

/** The default policy (3 attempts, backoff), with finished jobs kept an hour instead of days. */
export const BENCH_JOB_POLICY: JobPolicy = { ...DEFAULT_JOB_POLICY, keepCompletedSeconds: 3600, keepFailedSeconds: 3600 };

/**
 * Waits until `total` jobs of the queue are completed or failed. `abandon` resolving (with a
 * reason) ends the wait with an error: a process the run depends on is gone.
 */
export async function waitForFinished<R>(queue: Queue<ImageJobData, R>, total: number, abandon?: Promise<string>): Promise<void> {
  let gone: string | undefined;
  abandon?.then((reason) => (gone = reason), () => undefined);
  for (;;) {
    const counts = await queue.getJobCounts('completed', 'failed');
    if ((counts.completed ?? 0) + (counts.failed ?? 0) >= total) return;
    if (gone !== undefined) throw new Error(`jobs of ${queue.name} cannot finish: ${gone}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Each job's duration as its processor reported it, and one line per job that failed. */
export async function collectResults<R extends { durationMs: number }>(
  queue: Queue<ImageJobData, R>,
  jobs: readonly Job<ImageJobData>[],
): Promise<{ latenciesMs: number[]; failed: string[] }> {
  const latenciesMs: number[] = [];
  const failed: string[] = [];
  for (let i = 0; i < jobs.length; i += 200) {
    const chunk = await Promise.all(jobs.slice(i, i + 200).map((j) => Job.fromId<ImageJobData, R>(queue, String(j.id))));
    for (const job of chunk) {
      if (job?.returnvalue) latenciesMs.push(job.returnvalue.durationMs);
      else failed.push(`${job?.data.url ?? '?'}: ${job?.failedReason ?? 'job missing'}`);
    }
  }
  return { latenciesMs, failed };
}

/**
 * After a run through the pipeline: its queue, its stack, and the run's streams and keys, which
 * outlive the processes on a shared Redis (a private one went with the stack).
 */
export async function tearDownPipelineRun(
  queue: Queue,
  stack: { redisUrl: string; stop(): Promise<unknown> },
  connection: RedisClient,
  sharedRedisUrl: string,
): Promise<void> {
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  await stack.stop();
  if (stack.redisUrl === sharedRedisUrl) {
    const keys = await scanKeys(connection, `${queueKeys(connection, queue.name).base}:*`).catch(() => [] as string[]);
    if (keys.length > 0) await connection.del(...keys).catch(() => undefined);
  }
  connection.disconnect();
}
