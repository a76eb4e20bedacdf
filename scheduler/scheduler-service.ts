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
  const commands = createRedis(config.redisUrl, log, 'scheduler');
  const inboxConnection = createRedis(config.redisUrl, log, 'scheduler-inbox');
  const bullConnection = createRedis(config.redisUrl, log, 'scheduler-bullmq');
  const eventsConnection = createRedis(config.redisUrl, log, 'scheduler-events');

  const queue = new BullmqJobQueue(bullConnection, eventsConnection, config, log);
  const scheduler = new Scheduler(
    queue,
    async (executorId, call) => {
      const stream = names.executorInbox(executorId);
      // Inboxes of executors that never come back expire instead of piling up.
      await commands.multi().xadd(stream, '*', 'm', encodeCall(call)).expire(stream, 86_400).exec();
    },
    config,
    log,
  );
  const inbox = new StreamInbox(
    inboxConnection,
    { stream: names.schedulerInbox, group: 'scheduler', consumer: 'scheduler' },
    decodingHandler(names.schedulerInbox, decodeEvent, (event) => scheduler.handleEvent(event), log),
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
      for (const c of [commands, inboxConnection, bullConnection, eventsConnection]) c.disconnect();
    },
  };
}
