/**
 * The harness side of the reference runs: (c) a plain BullMQ Worker pool and (d) the transport
 * floor. Each run gets a fresh fileserver process and a fresh reference process (and for (c) a
 * fresh queue), warms up on a few images, then times all of them while metering the CPU of the
 * processes doing the work.
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { enqueueUrls } from '../client/enqueue-urls.js';
import type { Logger } from '../common/log.js';
import type { ImageJobData } from '../common/queue.js';
import { createRedis, bullOptions } from '../common/redis.js';
import { CpuMeter, peakRssMb, processCpuSeconds, redisCpuSeconds } from './cpu-meter.js';
import type { ImageTaskInput, ImageTaskResult } from './image-task.js';
import { distScript, startFileserver, startNodeChild, type FileserverProcess, type NodeChild } from './node-child.js';
import { BENCH_JOB_POLICY, collectResults, waitForFinished } from './queue-results.js';
import { isFloorResult, type FloorResult, type FloorRun } from './reference-messages.js';
import { imageUrls, WARM_UP_IMAGES, type SourceImage } from './source-images.js';
import { bestRun, summarize, type RunResult } from './stats.js';

export interface ReferenceContext {
  /** Served by each run's fileserver at /images/. */
  imagesDir: string;
  images: SourceImage[];
  redisUrl: string;
  /** Environment of every child, as the pipeline's processes get it (LOG_LEVEL, MAX_INPUT_PIXELS). */
  env: Record<string, string>;
  log: Logger;
}

export type ReferenceRun = (ctx: ReferenceContext, concurrency: number) => Promise<RunResult>;

/** A reference process started against a fresh fileserver, both stopped when `body` ends. */
async function withProcesses<T>(
  ctx: ReferenceContext,
  script: string,
  env: Record<string, string>,
  body: (fileserver: FileserverProcess, child: NodeChild) => Promise<T>,
): Promise<T> {
  const fileserver = await startFileserver(ctx.imagesDir, ctx.env);
  let child: NodeChild | undefined;
  try {
    child = startNodeChild(script.replace(/\.js$/, ''), distScript(`./${script}`), {
      ...ctx.env,
      ...env,
      FILESERVER_URL: fileserver.url,
      UPLOAD_TOKEN: fileserver.uploadToken,
    });
    await child.next(); // ready
    return await body(fileserver, child);
  } finally {
    await child?.stop(30_000);
    await fileserver.stop();
  }
}

/** (c) BullMQ Worker pool: the harness enqueues and polls exactly as it does for the pipeline. */
export const runWorkerPool: ReferenceRun = async (ctx, concurrency) => {
  const queueName = `bench-workers-${Date.now()}-${randomBytes(3).toString('hex')}`;
  const connection = createRedis(ctx.redisUrl, ctx.log, 'bench');
  const queue = new Queue<ImageJobData, ImageTaskResult>(queueName, bullOptions(connection, queueName));
  try {
    const env = { REDIS_URL: ctx.redisUrl, QUEUE_NAME: queueName, CONCURRENCY: String(concurrency) };
    return await withProcesses(ctx, 'worker-pool.js', env, async (fileserver, worker) => {
      const inputs = imageUrls(fileserver.imagesBaseUrl, ctx.images);
      const warm = await enqueueUrls(queue, inputs.slice(0, WARM_UP_IMAGES), BENCH_JOB_POLICY);
      await waitForFinished(queue, warm.length, worker.exited);

      const meter = new CpuMeter([
        { process: 'worker pool', read: () => processCpuSeconds(worker.pid) },
        { process: 'fileserver', read: () => processCpuSeconds(fileserver.child.pid) },
        { process: 'redis-server (whole server)', read: () => redisCpuSeconds(connection) },
      ]);
      await meter.start();
      const started = performance.now();
      const jobs = await enqueueUrls(queue, inputs, BENCH_JOB_POLICY);
      await waitForFinished(queue, warm.length + jobs.length, worker.exited);
      const wallMs = performance.now() - started;
      const cpu = await meter.stop();

      const { latenciesMs, failed } = await collectResults(queue, jobs);
      const peakRss = [{ process: 'worker pool', mb: peakRssMb(worker.pid) }];
      return { stats: summarize(ctx.images, wallMs, latenciesMs), failed, cpu, concurrency, peakRssMb: peakRss };
    });
  } finally {
    await queue.obliterate({ force: true }).catch((err: unknown) => ctx.log.warn('could not obliterate', { queueName, err }));
    await queue.close();
    connection.disconnect();
  }
};

async function floorRound(floor: NodeChild, jobs: ImageTaskInput[]): Promise<FloorResult> {
  const run: FloorRun = { type: 'run', jobs };
  floor.send(run);
  const reply = await floor.next();
  if (!isFloorResult(reply)) throw new Error(`transport-floor answered an unexpected message: ${JSON.stringify(reply)?.slice(0, 200)}`);
  return reply;
}

/** (d) Transport floor: the same work with no queue; the harness only says "go" and waits for the answer. */
export const runTransportFloor: ReferenceRun = (ctx, concurrency) =>
  withProcesses(ctx, 'transport-floor.js', { CONCURRENCY: String(concurrency) }, async (fileserver, floor) => {
    const inputs = imageUrls(fileserver.imagesBaseUrl, ctx.images);
    await floorRound(floor, inputs.slice(0, WARM_UP_IMAGES));

    const meter = new CpuMeter([
      { process: 'transport floor', read: () => processCpuSeconds(floor.pid) },
      { process: 'fileserver', read: () => processCpuSeconds(fileserver.child.pid) },
    ]);
    await meter.start();
    const started = performance.now();
    const { latenciesMs, failed } = await floorRound(floor, inputs);
    const wallMs = performance.now() - started;
    const cpu = await meter.stop();
    return { stats: summarize(ctx.images, wallMs, latenciesMs), failed, cpu, concurrency };
  });

/**
 * Runs `run` once per concurrency, reporting each as it ends, and picks the fastest without
 * failures. The figures compared with the pipeline come from fresh runs at that concurrency
 * (see the rounds in bench.ts): the fastest of several noisy runs overstates itself.
 */
export async function sweep(
  ctx: ReferenceContext,
  run: ReferenceRun,
  concurrencies: readonly number[],
  report: (r: RunResult) => void,
): Promise<number> {
  const runs: RunResult[] = [];
  for (const concurrency of concurrencies) {
    const result = await run(ctx, concurrency);
    report(result);
    runs.push(result);
  }
  const chosen = bestRun(runs);
  if (chosen?.concurrency === undefined) throw new Error('a sweep needs at least one concurrency');
  return chosen.concurrency;
}
