/** Composition root of the scheduler process. */
import { configOrExit } from '../common/config.js';
import { guardProcess } from '../common/background.js';
import { createLogger } from '../common/log.js';
import { redactUrl } from '../common/redis.js';
import { exitOnProcessArgs } from '../common/process-help.js';
import { startMetricsServerOrExit } from '../common/metrics-server.js';
import { notifyReady, onShutdownSignal } from '../common/shutdown.js';
import { loadSchedulerConfig } from './config.js';
import { schedulerMetrics } from './metrics.js';
import { startSchedulerService, type SchedulerService } from './scheduler-service.js';

exitOnProcessArgs('scheduler');
const config = configOrExit('scheduler', () => loadSchedulerConfig(process.env));
const log = createLogger({ proc: 'scheduler', scheduler: config.schedulerId });
// Last resort: a rejection nobody handled is logged, and the process keeps serving.
guardProcess(log);

// The metrics port first: a taken one stops the process before it can take the lead.
let service: SchedulerService | undefined;
const metrics = await startMetricsServerOrExit(
  'scheduler',
  config.metrics,
  schedulerMetrics({ leader: () => service?.leader(), epoch: () => service?.epoch(), queueMetrics: async () => (await service?.queueMetrics()) ?? '' }),
  log,
);
service = startSchedulerService(config, log);
const running = service;
log.info('scheduler started', { queue: config.queueName, task: config.task, redis: redactUrl(config.redisUrl) });
onShutdownSignal(
  log,
  async () => {
    const [outcome] = await Promise.all([running.close(), metrics?.close()]);
    log.info('scheduler stopped', { clean: outcome.clean });
    return outcome;
  },
  config.shutdownGraceMs,
);
notifyReady();
