/** Run (b): the whole pipeline as launchStack brings it up, the fileserver serving the sources over HTTP. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { enqueueUrls } from '../client/enqueue-urls.js';
import type { Logger } from '../common/log.js';
import type { ImageJobData, ImageJobResult } from '../common/queue.js';
import { createRedis, bullOptions } from '../common/redis.js';
import { launchStack } from '../stack/launch-stack.js';
import { childProcesses, CpuMeter, peakRssMb, processCpuSeconds, redisCpuSeconds } from './cpu-meter.js';
import { BENCH_JOB_POLICY, tearDownPipelineRun, collectResults, waitForFinished } from './queue-results.js';
import { imageUrls, WARM_UP_IMAGES, type SourceImage } from './source-images.js';
import { summarize, type RunResult } from './stats.js';
import { DEFAULT_REDIS_URL } from '../common/defaults.js';

/** The stack's node processes by role ('executor', 'scheduler', 'fileserver'), found as children of this process. */
function stackProcesses(): Map<string, number[]> {
  const roles = new Map<string, number[]>();
  for (const { pid, script } of childProcesses(process.pid)) {
    const role = /[\\/](\w+)[\\/]main\.js$/.exec(script)?.[1];
    if (role !== undefined) roles.set(role, [...(roles.get(role) ?? []), pid]);
  }
  return roles;
}

export async function runPipeline(
  dir: string,
  images: SourceImage[],
  executors: number,
  env: Record<string, string>,
  log: Logger,
): Promise<RunResult> {
  const uploadDir = await mkdtemp(join(tmpdir(), 'bench-uploads-'));
  const queueName = `bench-${Date.now()}`;
  const redisUrl = process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  const stack = await launchStack(
    {
      redisUrl,
      executors,
      port: 0,
      host: '127.0.0.1',
      uploadDir,
      imagesDir: dir,
      queueName,
      env,
    },
    log,
  );
  const connection = createRedis(stack.redisUrl, log, 'bench');
  const queue = new Queue<ImageJobData, ImageJobResult>(queueName, bullOptions(connection, queueName));
  try {
    const inputs = imageUrls(stack.imagesBaseUrl, images);
    const warm = await enqueueUrls(queue, inputs.slice(0, WARM_UP_IMAGES), BENCH_JOB_POLICY);
    await waitForFinished(queue, warm.length, stack.gaveUp.then((f) => `${f.process}: ${f.reason}`));

    const meter = new CpuMeter([
      ...[...stackProcesses()].map(([role, pids]) => ({
        process: pids.length > 1 ? `${role} (x${pids.length})` : role,
        read: () => pids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0),
      })),
      { process: 'redis-server (whole server)', read: () => redisCpuSeconds(connection) },
    ]);
    // Same URLs again: outputs overwrite, so the timed run does exactly the work of the raw run.
    await meter.start();
    const started = performance.now();
    const jobs = await enqueueUrls(queue, inputs, BENCH_JOB_POLICY);
    await waitForFinished(queue, warm.length + jobs.length, stack.gaveUp.then((f) => `${f.process}: ${f.reason}`));
    const wallMs = performance.now() - started;
    const cpu = await meter.stop();

    const { latenciesMs, failed } = await collectResults(queue, jobs);
    const peakRss = (stackProcesses().get('executor') ?? []).map((pid, i) => ({ process: `executor-${i + 1}`, mb: peakRssMb(pid) }));
    return { stats: summarize(images, wallMs, latenciesMs), failed, cpu, peakRssMb: peakRss };
  } finally {
    await tearDownPipelineRun(queue, stack, connection, redisUrl);
    await rm(uploadDir, { recursive: true, force: true });
  }
}
