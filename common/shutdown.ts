import type { Logger } from './log.js';

/**
 * Runs `close` once on the first SIGINT/SIGTERM and exits 0 when it resolves (1 if it throws).
 * A second signal exits at once, for the impatient.
 */
export function onShutdownSignal(log: Logger, close: () => Promise<void>): void {
  let closing = false;
  const handler = (signal: NodeJS.Signals) => {
    if (closing) {
      log.warn('second signal, exiting now', { signal });
      process.exit(1);
    }
    closing = true;
    log.info('shutting down', { signal });
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', { error: err instanceof Error ? err.message : String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

/** Tells a launching parent (npm start, batch) that this process is up, when there is one. */
export function notifyReady(): void {
  process.send?.({ ready: true });
}
