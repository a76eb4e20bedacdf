/** Composition root of an executor process. */
import { configOrExit } from '../common/config.js';
import { createLogger } from '../common/log.js';
import { notifyReady, onShutdownSignal } from '../common/shutdown.js';
import { loadExecutorConfig } from './config.js';
import { startExecutorService, type ExecutorService } from './executor-service.js';

const config = configOrExit('executor', () => loadExecutorConfig(process.env));

const log = createLogger({ proc: config.executorId });
let service: ExecutorService | undefined;
onShutdownSignal(
  log,
  async () => {
    const outcome = await service?.close();
    log.info('executor stopped', { clean: outcome?.clean ?? true });
    return outcome;
  },
  config.shutdownGraceMs,
);
service = await startExecutorService(config, log);
notifyReady();
