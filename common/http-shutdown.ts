import type { Server } from 'node:http';
import type { Logger } from './log.js';
import { onLauncherGone } from './shutdown.js';

export interface HttpStopOptions {
  /** Names the process in its log lines ("fileserver stopping", "... stopped"). */
  name: string;
  /** In-flight requests get this long; then open connections are dropped. */
  timeoutMs: number;
  /** Runs once the server has closed, before the process exits 0 (close connections, queues). */
  after?: () => Promise<void>;
}

/**
 * SIGINT, SIGTERM or a launcher that went away: stop taking connections, let the requests in
 * flight finish for at most `timeoutMs` (a stuck upload or a page that keeps refreshing must not
 * hold the process), then exit 0. For the processes that are an HTTP server and little else.
 */
export function stopHttpServerOnSignal(server: Server, log: Logger, opts: HttpStopOptions): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info(`${opts.name} stopping`, { signal });
    const timer = setTimeout(() => {
      log.warn('shutdown timed out, dropping open connections', { timeoutMs: opts.timeoutMs });
      server.closeAllConnections();
    }, opts.timeoutMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      void (opts.after ?? (async () => undefined))()
        .catch((err: unknown) => log.warn('closing after the server failed', { error: err instanceof Error ? err.message : String(err) }))
        .finally(() => {
          log.info(`${opts.name} stopped`);
          process.exit(0);
        });
    });
    // Keep-alive connections with nothing in flight would hold close() open.
    server.closeIdleConnections();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  onLauncherGone(log, () => stop('SIGTERM'));
}
