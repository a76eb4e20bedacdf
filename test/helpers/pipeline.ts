/**
 * An in-process pipeline for integration tests: the real fileserver (HTTP on a free port),
 * the real scheduler and executors (Redis streams + BullMQ on the test Redis), each built
 * from the same config loaders the processes use.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { createLogger, type Logger } from '../../common/log.js';
import type { ImageJobData, ImageJobResult } from '../../common/queue.js';
import { loadExecutorConfig } from '../../executor/config.js';
import { startExecutorService, type ExecutorService } from '../../executor/executor-service.js';
import { createFileserverApp } from '../../fileserver/app.js';
import { loadFileserverConfig } from '../../fileserver/config.js';
import { loadSchedulerConfig } from '../../scheduler/config.js';
import { startSchedulerService, type SchedulerService } from '../../scheduler/scheduler-service.js';
import { freshQueueName, testRedisUrl } from './redis.js';

export interface Pipeline {
  redisUrl: string;
  queueName: string;
  fileserverUrl: string;
  uploadDir: string;
  imagesDir: string;
  queue: Queue<ImageJobData, ImageJobResult>;
  events: QueueEvents;
  redis: Redis;
  scheduler: SchedulerService;
  /** Every scheduler started, the first one included. */
  schedulers: SchedulerService[];
  startScheduler(id: string, env?: Record<string, string>): SchedulerService;
  executors: ExecutorService[];
  startExecutor(id: string, env?: Record<string, string>): Promise<ExecutorService>;
  log: Logger;
  /** Call from the suite's after(): hooks registered inside before() run too early. */
  stop(): Promise<void>;
}

export const TOKEN = 'test-token-123';

export async function startPipeline(opts: {
  executors: number;
  redisUrl?: string;
  queueName?: string;
  schedulerEnv?: Record<string, string>;
  executorEnv?: Record<string, string>;
}): Promise<Pipeline> {
  const log = createLogger({ test: true }, (process.env.TEST_LOG_LEVEL as 'debug' | undefined) ?? 'silent');
  const redisUrl = opts.redisUrl ?? (await testRedisUrl());
  const queueName = opts.queueName ?? freshQueueName('pipeline');
  const uploadDir = await mkdtemp(join(tmpdir(), 'pipeline-uploads-'));
  const imagesDir = await mkdtemp(join(tmpdir(), 'pipeline-images-'));

  const fsConfig = loadFileserverConfig({ UPLOAD_TOKEN: TOKEN, UPLOAD_DIR: uploadDir, IMAGES_DIR: imagesDir, PORT: '0' });
  const server: Server = await new Promise((resolve) => {
    const s = createFileserverApp(fsConfig, log).listen(0, '127.0.0.1', () => resolve(s));
  });
  const address = server.address();
  const fileserverUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const common = { REDIS_URL: redisUrl, QUEUE_NAME: queueName, FILESERVER_URL: fileserverUrl };
  const schedulers: SchedulerService[] = [];
  const startScheduler = (id: string, env: Record<string, string> = {}) => {
    const config = loadSchedulerConfig({
      ...common,
      SCHEDULER_ID: id,
      EXECUTOR_TIMEOUT_MS: '1500',
      REFUSE_SECONDS: '1',
      LEASE_TTL_MS: '1000',
      RECONCILE_TIMEOUT_MS: '1500',
      ...opts.schedulerEnv,
      ...env,
    });
    const service = startSchedulerService(config, log.child({ proc: id }));
    schedulers.push(service);
    return service;
  };
  const scheduler = startScheduler('scheduler-1');
  await scheduler.elected();
  const executors: ExecutorService[] = [];
  const startExecutor = async (id: string, env: Record<string, string> = {}) => {
    const config = loadExecutorConfig({
      ...common,
      EXECUTOR_ID: id,
      EXECUTOR_CPUS: '1',
      EXECUTOR_MEM_MB: '1024',
      UPLOAD_TOKEN: TOKEN,
      ALLOW_PRIVATE_NETWORKS: 'true',
      HEARTBEAT_MS: '200',
      ACK_RESEND_MS: '1000',
      SHUTDOWN_ACK_WAIT_MS: '2000',
      ...opts.executorEnv,
      ...env,
    });
    const service = await startExecutorService(config, log.child({ proc: id }));
    executors.push(service);
    return service;
  };
  for (let i = 1; i <= opts.executors; i++) await startExecutor(`exec-${i}`);

  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  redis.on('error', () => undefined); // reconnects on its own; tests that restart Redis expect errors
  const queue = new Queue<ImageJobData, ImageJobResult>(queueName, { connection: redis });
  const eventsRedis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  eventsRedis.on('error', () => undefined);
  const events = new QueueEvents(queueName, { connection: eventsRedis });
  events.on('error', () => undefined);
  await events.waitUntilReady();

  const stop = async () => {
    await Promise.all(executors.map((e) => e.close()));
    for (const s of schedulers) await s.close();
    await events.close();
    await queue.close();
    redis.disconnect();
    eventsRedis.disconnect();
    await new Promise((r) => server.close(r));
    server.closeAllConnections?.();
    await rm(uploadDir, { recursive: true, force: true });
    await rm(imagesDir, { recursive: true, force: true });
  };

  return { redisUrl, queueName, fileserverUrl, uploadDir, imagesDir, queue, events, redis, scheduler, schedulers, startScheduler, executors, startExecutor, log, stop };
}
