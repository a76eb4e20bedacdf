/** Composition root of an executor process. */
import { configOrExit } from '../common/config.js';
import { guardProcess } from '../common/background.js';
import { createLogger } from '../common/log.js';
import { exitOnProcessArgs } from '../common/process-help.js';
import { startMetricsServerOrExit, type MetricsServer } from '../common/metrics-server.js';
import { notifyReady, onShutdownSignal } from '../common/shutdown.js';
import { loadExecutorConfig } from './config.js';
import { startExecutorService, type ExecutorService } from './executor-service.js';
import { ExecutorMetrics } from './metrics.js';

exitOnProcessArgs('executor');
const config = configOrExit('executor', () => loadExecutorConfig(process.env));

const log = createLogger({ proc: config.executorId });
// Last resort: a rejection nobody handled is logged, and the process keeps serving.
guardProcess(log);
const metrics = new ExecutorMetrics();
let metricsServer: MetricsServer | undefined;
let service: ExecutorService | undefined;
onShutdownSignal(
  log,
  async () => {
    const outcome = await service?.close();
    await metricsServer?.close();
    log.info('executor stopped', { clean: outcome?.clean ?? true });
    return outcome;
  },
  config.shutdownGraceMs,
);
// The metrics port first: a taken one stops the process before it registers and offers.
metricsServer = await startMetricsServerOrExit('executor', config.metrics, metrics, log);
service = await startExecutorService(config, log, metrics);
notifyReady();
