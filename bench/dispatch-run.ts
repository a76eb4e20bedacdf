/**
 * `bench --dispatch`: how fast the scheduler places real BullMQ jobs. Executors run in their
 * dry-run mode (every image done at once, no network, no sharp), so what is timed is the offer
 * layer itself: BullMQ fetches and completions, launches, status updates and acknowledgements.
 * The jobs are enqueued into a paused queue; the clock runs from resuming it to the last job done.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { enqueueUrls } from '../client/enqueue-urls.js';
import type { Logger } from '../common/log.js';
import type { ImageJobData } from '../common/queue.js';
import { createRedis, bullOptions } from '../common/redis.js';
import { launchStack } from '../stack/launch-stack.js';
import { childProcesses, CpuMeter, processCpuSeconds, redisCpuSeconds } from './cpu-meter.js';
import { BENCH_JOB_POLICY, tearDownPipelineRun, waitForFinished } from './queue-results.js';
import type { CpuShare } from './stats.js';
import { DEFAULT_REDIS_URL } from '../common/defaults.js';

export interface DispatchResult {
  jobs: number;
  wallMs: number;
  jobsPerSecond: number;
  cpu: CpuShare[];
}

export async function runDispatch(jobs: number, executors: number, env: Record<string, string>, log: Logger): Promise<DispatchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-dispatch-'));
  const queueName = `bench-dispatch-${Date.now()}`;
  const redisUrl = process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  const stack = await launchStack(
    { redisUrl, executors, port: 0, host: '127.0.0.1', uploadDir: dir, imagesDir: dir, queueName, env: { ...env, EXECUTOR_DRY_RUN: 'true' } },
    log,
  );
  const connection = createRedis(stack.redisUrl, log, 'bench-dispatch');
  const queue = new Queue<ImageJobData>(queueName, bullOptions(connection, queueName));
  try {
    await queue.pause();
    const urls = Array.from({ length: jobs }, (_, i) => ({ url: `http://dry-run.invalid/${i}.png` }));
    await enqueueUrls(queue, urls, BENCH_JOB_POLICY);
    const pids = new Map<string, number[]>();
    for (const { pid, script } of childProcesses(process.pid)) {
      const role = /[\\/](\w+)[\\/]main\.js$/.exec(script)?.[1];
      if (role) pids.set(role, [...(pids.get(role) ?? []), pid]);
    }
    const meter = new CpuMeter([
      ...[...pids].map(([role, list]) => ({ process: role, read: () => list.reduce((n, pid) => n + processCpuSeconds(pid), 0) })),
      { process: 'redis-server (whole server)', read: () => redisCpuSeconds(connection) },
    ]);
    await meter.start();
    const started = performance.now();
    await queue.resume();
    await waitForFinished(queue, jobs, stack.gaveUp.then((f) => `${f.process}: ${f.reason}`));
    const wallMs = performance.now() - started;
    const cpu = await meter.stop();
    return { jobs, wallMs, jobsPerSecond: jobs / (wallMs / 1000), cpu };
  } finally {
    await tearDownPipelineRun(queue, stack, connection, redisUrl);
    await rm(dir, { recursive: true, force: true });
  }
}

export function dispatchReport(r: DispatchResult): string[] {
  return [
    `dispatched ${r.jobs} jobs in ${(r.wallMs / 1000).toFixed(2)} s: ${Math.round(r.jobsPerSecond)} jobs/s (target >= 3000)`,
    '',
    '| process | CPU s | CPU ms per job |',
    '|---|---|---|',
    ...r.cpu.map((c) => `| ${c.process} | ${c.seconds.toFixed(2)} | ${((c.seconds * 1000) / r.jobs).toFixed(3)} |`),
  ];
}
