/** Composition root of the dashboard process (`npm run dashboard`). */
import type { Server } from 'node:http';
import { Queue } from 'bullmq';
import { configOrExit } from '../common/config.js';
import { guardProcess } from '../common/background.js';
import { createLogger } from '../common/log.js';
import { exitOnProcessArgs } from '../common/process-help.js';
import { createRedis, bullOptions, queueKeys } from '../common/redis.js';
import { stopHttpServerOnSignal } from '../common/http-shutdown.js';
import { notifyReady } from '../common/shutdown.js';
import { createDashboardApp } from './dashboard-app.js';
import { loadDashboardConfig } from './dashboard-config.js';
import { Thumbnails } from './thumbnails.js';

const SHUTDOWN_TIMEOUT_MS = 5_000;

exitOnProcessArgs('dashboard');
const config = configOrExit('dashboard', () => loadDashboardConfig(process.env));
const log = createLogger({ proc: 'dashboard' });
// Last resort: a rejection nobody handled is logged, and the process keeps serving.
guardProcess(log);
// Page loads fail fast (503) while Redis is away instead of hanging; the connection keeps reconnecting.
const redis = createRedis(config.redisUrl, log, 'dashboard', { maxRetriesPerRequest: 1 });
const queue = new Queue(config.queueName, bullOptions(redis, config.queueName));
queue.on('error', () => undefined);
const thumbnails = new Thumbnails({ uploadDir: config.uploadDir, fileserverUrl: config.fileserverUrl, sizePx: config.thumbnailPx });
const app = createDashboardApp({ redis, queue, keys: queueKeys(redis, config.queueName), token: config.token, thumbnails, log });

const server: Server = app.listen(config.port, config.host, (err?: Error) => {
  if (err) {
    const hint = (err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'the port is taken: set DASHBOARD_PORT to another one' : undefined;
    log.error('dashboard could not listen', { host: config.host, port: config.port, err, hint });
    process.exit(1);
  }
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  log.info('dashboard listening', { url: `http://${host}:${config.port}/`, queue: config.queueName, token: config.token ? 'required' : 'none (loopback only)' });
  notifyReady();
});

stopHttpServerOnSignal(server, log, {
  name: 'dashboard',
  timeoutMs: SHUTDOWN_TIMEOUT_MS,
  after: async () => {
    await queue.close().catch(() => undefined);
    redis.disconnect();
  },
});
