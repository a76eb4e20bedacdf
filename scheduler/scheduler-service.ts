/**
 * Wires a Scheduler to Redis: its inbox stream, the executors' inboxes, and BullMQ.
 * main.ts runs one per process; integration tests run it in-process.
 */
import type { Logger } from '../common/log.js';
import { createRedis } from '../common/redis.js';
import { decodeEvent, encodeCall } from '../protocol/codec.js';
import { decodingHandler } from '../protocol/decoding-handler.js';
import { StreamInbox } from '../protocol/stream-inbox.js';
import { streamNames } from '../protocol/stream-names.js';
import type { SchedulerConfig } from './config.js';
import { BullmqJobQueue } from './job-queue.js';
import { Scheduler } from './scheduler.js';

export interface SchedulerService {
  scheduler: Scheduler;
  close(): Promise<void>;
}

export function startSchedulerService(config: Readonly<SchedulerConfig>, log: Logger): SchedulerService {
  const names = streamNames(config.queueName);
  // Auto-pipelining coalesces the commands of one tick into one write: fewer syscalls per task.
  const commands = createRedis(config.redisUrl, log, 'scheduler', { enableAutoPipelining: true });
  const inboxConnection = createRedis(config.redisUrl, log, 'scheduler-inbox');
  const bullConnection = createRedis(config.redisUrl, log, 'scheduler-bullmq', { enableAutoPipelining: true });

  const queue = new BullmqJobQueue(bullConnection, config, log);
  const scheduler = new Scheduler(
    queue,
    {
      send: async (executorId, calls) => {
        const stream = names.executorInbox(executorId);
        const pipeline = commands.pipeline();
        for (const call of calls) pipeline.xadd(stream, '*', 'm', encodeCall(call));
        for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
      },
      // Inboxes of executors that never come back expire instead of piling up; live ones are
      // refreshed with every heartbeat.
      keepInbox: async (executorId) => {
        await commands.expire(names.executorInbox(executorId), 86_400);
      },
    },
    config,
    log,
  );
  const inbox = new StreamInbox(
    inboxConnection,
    { stream: names.schedulerInbox, group: 'scheduler', consumer: 'scheduler' },
    decodingHandler(names.schedulerInbox, decodeEvent, (events) => scheduler.handleEvents(events), log),
    log,
  );
  scheduler.start();
  inbox.start();

  return {
    scheduler,
    async close() {
      log.info('scheduler draining', { activeTasks: scheduler.activeTasks });
      await scheduler.drain();
      await inbox.close();
      await queue.close();
      for (const c of [commands, inboxConnection, bullConnection]) c.disconnect();
    },
  };
}
