/** Composition root of the fileserver process. */
import type { Server } from 'node:http';
import { configOrExit } from '../common/config.js';
import { createLogger } from '../common/log.js';
import { exitOnProcessArgs } from '../common/process-help.js';
import { startMetricsServerOrExit } from '../common/metrics-server.js';
import { notifyReady, onLauncherGone } from '../common/shutdown.js';
import { createFileserverApp } from './app.js';
import { loadFileserverConfig } from './config.js';
import { FileserverMetrics } from './metrics.js';

const SHUTDOWN_TIMEOUT_MS = 10_000;

exitOnProcessArgs('fileserver');
const config = configOrExit('fileserver', () => loadFileserverConfig(process.env));
const log = createLogger({ proc: 'fileserver' });
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

let stopping = false;
function shutdown(signal: NodeJS.Signals): void {
  if (stopping) return;
  stopping = true;
  log.info('fileserver stopping', { signal });
  // close() waits for in-flight requests; a stuck upload must not hold the process forever
  const timer = setTimeout(() => {
    log.warn('shutdown timed out, dropping open connections', { timeoutMs: SHUTDOWN_TIMEOUT_MS });
    server.closeAllConnections();
  }, SHUTDOWN_TIMEOUT_MS);
  timer.unref();
  void metricsServer?.close();
  server.close(() => {
    clearTimeout(timer);
    log.info('fileserver stopped');
    process.exit(0);
  });
  server.closeIdleConnections();
}

process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
onLauncherGone(log, () => shutdown('SIGTERM'));
