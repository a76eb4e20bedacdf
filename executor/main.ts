/** Composition root of an executor process. */
import { ConfigError } from '../common/config.js';
import { createLogger } from '../common/log.js';
import { notifyReady, onShutdownSignal } from '../common/shutdown.js';
import { loadExecutorConfig, type ExecutorConfig } from './config.js';
import { startExecutorService, type ExecutorService } from './executor-service.js';

let config: Readonly<ExecutorConfig>;
try {
  config = loadExecutorConfig(process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(2);
}

const log = createLogger({ proc: config.executorId });
let service: ExecutorService | undefined;
onShutdownSignal(log, async () => {
  await service?.close();
  log.info('executor stopped');
});
service = await startExecutorService(config, log);
notifyReady();
