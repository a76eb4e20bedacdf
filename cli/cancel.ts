/**
 * `npm run cancel -- JOB_ID...` or `npm run cancel -- --all`: removes waiting and delayed jobs,
 * kills running ones (their jobs fail as CANCELLED, no retry) and says what happened to each.
 * Exit codes: 0 done, 1 Redis unusable, 2 bad usage.
 */
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { cancelJobs, describeSummary } from '../client/cancel-jobs.js';
import { clientRedis, runCli } from '../client/cli-runner.js';
import { loadClientConfig } from '../client/client-config.js';
import type { ImageJobData } from '../common/queue.js';
import { bullOptions, queueKeys } from '../common/redis.js';

const USAGE = `usage: offer-invert cancel JOB_ID...     cancel these jobs   (npm run cancel -- ...)
       offer-invert cancel --all           cancel every job not yet finished
  [--wait-ms N]  how long to wait for running jobs to stop (default 10000)
Waiting and delayed jobs are removed; running ones are killed and fail as CANCELLED, without retry.
environment: REDIS_URL, QUEUE_NAME`;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { all: { type: 'boolean' }, 'wait-ms': { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (err) {
    console.error(`cancel: ${(err as Error).message.split('\n')[0]} (see --help)`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.all === true && positionals.length > 0) {
    console.error('cancel: give job ids or --all, not both');
    return 2;
  }
  if (values.all !== true && positionals.length === 0) {
    console.error(`cancel: which jobs? give their ids, or --all\n${USAGE}`);
    return 2;
  }
  const waitMs = values['wait-ms'] === undefined ? 10_000 : Number(values['wait-ms']);
  if (!Number.isInteger(waitMs) || waitMs < 0) {
    console.error(`cancel: --wait-ms must be a whole number of milliseconds, got ${JSON.stringify(values['wait-ms'])}`);
    return 2;
  }
  const config = loadClientConfig(process.env);
  const redis = await clientRedis('cancel', config.redisUrl);
  if (redis === undefined) return 1;
  const keys = queueKeys(redis, config.queueName);
  const queue = new Queue<ImageJobData>(config.queueName, bullOptions(redis, config.queueName));
  try {
    if (!(await redis.exists(keys.leader))) console.warn('cancel: no scheduler leads right now: running jobs are killed once one does');
    const summary = await cancelJobs(queue, redis, keys, values.all === true ? 'all' : positionals, waitMs);
    for (const line of describeSummary(summary)) console.log(line);
    return 0;
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

runCli('cancel', main);
