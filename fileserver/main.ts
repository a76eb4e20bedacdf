/** Composition root of the fileserver process. */
import type { Server } from 'node:http';
import { configOrExit } from '../common/config.js';
import { guardProcess } from '../common/background.js';
import { createLogger } from '../common/log.js';
import { exitOnProcessArgs } from '../common/process-help.js';
import { startMetricsServerOrExit } from '../common/metrics-server.js';
import { stopHttpServerOnSignal } from '../common/http-shutdown.js';
import { notifyReady } from '../common/shutdown.js';
import { createFileserverApp } from './app.js';
import { loadFileserverConfig } from './config.js';
import { FileserverMetrics } from './metrics.js';

const SHUTDOWN_TIMEOUT_MS = 10_000;

exitOnProcessArgs('fileserver');
const config = configOrExit('fileserver', () => loadFileserverConfig(process.env));
const log = createLogger({ proc: 'fileserver' });
// Last resort: a rejection nobody handled is logged, and the process keeps serving.
guardProcess(log);
const metrics = new FileserverMetrics();
const metricsServer = await startMetricsServerOrExit('fileserver', config.metrics, metrics, log);
const app = createFileserverApp(config, log, metrics);

const server: Server = app.listen(config.port, config.host, (err?: Error) => {
  if (err) {
    const hint = (err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'the port is taken: set PORT to another one' : undefined;
    log.error('fileserver could not listen', { host: config.host, port: config.port, err, hint });
    process.exit(1);
  }
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  log.info('fileserver listening', { url: `http://${host}:${port}`, uploadDir: config.uploadDir, imagesDir: config.imagesDir });
  notifyReady();
});

stopHttpServerOnSignal(server, log, { name: 'fileserver', timeoutMs: SHUTDOWN_TIMEOUT_MS, after: async () => metricsServer?.close() });
