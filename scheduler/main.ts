/** Composition root of the scheduler process. */
import { ConfigError } from '../common/config.js';
import { createLogger } from '../common/log.js';
import { notifyReady, onShutdownSignal } from '../common/shutdown.js';
import { loadSchedulerConfig, type SchedulerConfig } from './config.js';
import { startSchedulerService } from './scheduler-service.js';

const log = createLogger({ proc: 'scheduler' });

let config: Readonly<SchedulerConfig>;
try {
  config = loadSchedulerConfig(process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(2);
}

const service = startSchedulerService(config, log);
log.info('scheduler started', { queue: config.queueName, task: config.task, redis: config.redisUrl });
onShutdownSignal(log, async () => {
  await service.close();
  log.info('scheduler stopped');
});
notifyReady();
