/**
 * `npm run status`: the queue, the leader, executors and their tasks, offers, services and the
 * last failures, from Redis. Exit codes: 0 shown (or --watch stopped by Ctrl-C/SIGTERM),
 * 1 Redis unusable, 2 bad input (one line).
 */
import { Queue } from 'bullmq';
import { type RedisClient, bullOptions, queueKeys } from '../common/redis.js';
import { clientRedis, runCli } from '../client/cli-runner.js';
import { loadClientConfig } from '../client/client-config.js';
import { readClusterSnapshot } from '../client/cluster-snapshot.js';
import { parseStatusArgs, STATUS_USAGE, StatusUsageError, type StatusCommand, type StatusOptions } from '../client/status-args.js';
import { formatStatus } from '../client/status-format.js';
import { redactUrl } from '../common/redis.js';

const CLEAR_SCREEN = '\x1b[2J\x1b[H';

async function show(opts: StatusOptions, redis: RedisClient, queue: Queue, queueName: string, tty: boolean): Promise<void> {
  const snapshot = await readClusterSnapshot(redis, queue, queueKeys(redis, queueName));
  if (opts.json) {
    process.stdout.write(JSON.stringify(snapshot, null, opts.watchSeconds === undefined ? 2 : undefined) + '\n');
    return;
  }
  const lines = formatStatus(snapshot, { nowMs: snapshot.atMs });
  if (opts.watchSeconds === undefined) process.stdout.write(lines.join('\n') + '\n');
  else if (tty) process.stdout.write(CLEAR_SCREEN + `${new Date(snapshot.atMs).toISOString()}  (every ${opts.watchSeconds} s, Ctrl-C stops)\n\n` + lines.join('\n') + '\n');
  else process.stdout.write(`--- ${new Date(snapshot.atMs).toISOString()}\n` + lines.join('\n') + '\n\n');
}

async function main(argv: string[]): Promise<number> {
  let cmd: StatusCommand;
  try {
    cmd = parseStatusArgs(argv);
  } catch (err) {
    if (err instanceof StatusUsageError) {
      console.error(`status: ${err.message}`);
      return 2;
    }
    throw err;
  }
  if (cmd.kind === 'help') {
    console.log(STATUS_USAGE);
    return 0;
  }
  const opts = cmd;
  const config = loadClientConfig(process.env);
  const queueName = opts.queueName ?? config.queueName;
  // With --watch, commands wait through a Redis restart instead of failing (one line per failed refresh).
  const redis = await clientRedis('status', config.redisUrl, {
    maxRetriesPerRequest: opts.watchSeconds === undefined ? 3 : 1,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  if (redis === undefined) return 1;
  const queue = new Queue(queueName, bullOptions(redis, queueName));
  queue.on('error', () => undefined);
  const close = async () => {
    await queue.close().catch(() => undefined);
    redis.disconnect();
  };

  if (opts.watchSeconds === undefined) {
    try {
      await show(opts, redis, queue, queueName, false);
      return 0;
    } catch (err) {
      console.error(`status: ${(err as Error).message}`);
      return 1;
    } finally {
      await close();
    }
  }

  const tty = process.stdout.isTTY === true;
  let stopping = false;
  let wake: () => void = () => undefined;
  const stop = () => {
    stopping = true;
    wake();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  while (!stopping) {
    try {
      await show(opts, redis, queue, queueName, tty);
    } catch (err) {
      console.error(`status: cannot read Redis at ${redactUrl(config.redisUrl)}: ${(err as Error).message}; trying again`);
    }
    if (stopping) break;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, opts.watchSeconds! * 1000);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  await close();
  return 0;
}

runCli('status', main);
