/**
 * The one small HTTP server every long-running process uses for Prometheus: `GET /metrics`
 * (prom-client's registry, plus any text a process appends, e.g. BullMQ's queue export) and
 * `GET /healthz`. node:http only; it stops with the process (close() on SIGTERM).
 */
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { describeError } from './errors.js';
import type { Logger } from './log.js';
import type { MetricsSettings } from './metrics-config.js';

export const METRIC_PREFIX = 'offer_invert_';

/** What one process exports. */
export interface MetricsSource {
  registry: Registry;
  /** Prometheus text appended after the registry's (already formatted elsewhere). */
  extraText?: () => Promise<string>;
}

export interface MetricsServer {
  /** The port it listens on (the kernel's choice when METRICS_PORT=0). */
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Listening failed: one line that says what to change. */
export class MetricsServerError extends Error {
  override readonly name = 'MetricsServerError';
}

/** A registry with Node's process metrics (prefixed offer_invert_) and a `proc` label on every metric. */
export function processRegistry(proc: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ proc });
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return registry;
}

async function metricsText(source: MetricsSource): Promise<string> {
  const own = await source.registry.metrics();
  const extra = source.extraText ? await source.extraText() : '';
  return extra === '' ? own : `${own.replace(/\n*$/, '\n')}${extra.replace(/\n*$/, '\n')}`;
}

/** Starts the server, or returns undefined when METRICS_PORT=off. Rejects with a MetricsServerError. */
export async function startMetricsServer(settings: MetricsSettings, source: MetricsSource, log: Logger): Promise<MetricsServer | undefined> {
  const wanted = settings.port;
  if (wanted === 'off') return undefined;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      metricsText(source).then(
        (text) => res.writeHead(200, { 'content-type': source.registry.contentType }).end(text),
        (err: unknown) => {
          log.warn('collecting metrics failed', { error: describeError(err) });
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`collecting metrics failed: ${describeError(err)}\n`);
        },
      );
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
    }
  });
  // A scrape must never keep the process from stopping.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const where = `${settings.host}:${settings.port}`;
      if (err.code === 'EADDRINUSE') reject(new MetricsServerError(`METRICS_PORT=${settings.port} is taken on ${settings.host}: set METRICS_PORT to a free port, 0 for any, or off`));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') reject(new MetricsServerError(`METRICS_HOST=${settings.host} is not an address of this machine (${err.code})`));
      else reject(new MetricsServerError(`cannot serve metrics on ${where}: ${err.message}`));
    });
    server.listen(wanted, settings.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : wanted;
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  const url = `http://${host}:${port}/metrics`;
  log.info('metrics served', { url });
  return {
    port,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** For main.ts: the server, or one error line on stderr and exit code 1 (a taken port is not a crash). */
export async function startMetricsServerOrExit(proc: string, settings: MetricsSettings, source: MetricsSource, log: Logger): Promise<MetricsServer | undefined> {
  try {
    return await startMetricsServer(settings, source, log);
  } catch (err) {
    if (!(err instanceof MetricsServerError)) throw err;
    process.stderr.write(`${proc}: ${err.message}\n`);
    process.exit(1);
  }
}
