/**
 * `offer-invert retry-failed`: puts every job that failed for good back in the queue, with its
 * attempts reset, and prints how many (by failure reason).
 * Exit codes: 0 done (also when nothing had failed), 1 Redis unusable, 2 bad usage.
 */
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { clientRedis, runCli } from '../client/cli-runner.js';
import { loadClientConfig } from '../client/client-config.js';
import { noSchedulerWarning, schedulerServes } from '../client/preflight.js';
import { describeRetry, retryFailedJobs } from '../client/retry-failed-jobs.js';
import type { ImageJobData } from '../common/queue.js';
import { bullOptions, queueKeys } from '../common/redis.js';

const USAGE = `usage: offer-invert retry-failed      (npm run retry-failed)
Moves every job of the queue that failed for good back to waiting, with its attempts reset,
and prints how many by failure reason. Jobs still retrying on their own are left alone.
environment: REDIS_URL, QUEUE_NAME`;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: false, options: { help: { type: 'boolean', short: 'h' } } });
  } catch (err) {
    console.error(`retry-failed: ${(err as Error).message.split('\n')[0]} (see --help)`);
    return 2;
  }
  if (parsed.values.help === true) {
    console.log(USAGE);
    return 0;
  }
  const config = loadClientConfig(process.env);
  const redis = await clientRedis('retry-failed', config.redisUrl);
  if (redis === undefined) return 1;
  const queue = new Queue<ImageJobData>(config.queueName, bullOptions(redis, config.queueName));
  try {
    const summary = await retryFailedJobs(queue);
    for (const line of describeRetry(summary, config.queueName)) console.log(line);
    if (summary.retried > 0 && !(await schedulerServes(redis, queueKeys(redis, config.queueName)))) console.error(noSchedulerWarning(config.queueName));
    return 0;
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

runCli('retry-failed', main);
