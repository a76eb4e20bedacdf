/** Composition root of the scheduler process. */
import { configOrExit } from '../common/config.js';
import { createLogger } from '../common/log.js';
import { notifyReady, onShutdownSignal } from '../common/shutdown.js';
import { loadSchedulerConfig } from './config.js';
import { startSchedulerService } from './scheduler-service.js';

const config = configOrExit('scheduler', () => loadSchedulerConfig(process.env));
const log = createLogger({ proc: 'scheduler', scheduler: config.schedulerId });

const service = startSchedulerService(config, log);
log.info('scheduler started', { queue: config.queueName, task: config.task, redis: config.redisUrl.replace(/\/\/[^@]*@/, '//***@') });
onShutdownSignal(
  log,
  async () => {
    const outcome = await service.close();
    log.info('scheduler stopped', { clean: outcome.clean });
    return outcome;
  },
  config.shutdownGraceMs,
);
notifyReady();
