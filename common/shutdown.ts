import type { Logger } from './log.js';

/** How a stop went: `abandoned` says what was left unfinished when the grace period ran out. */
export type StopOutcome = { clean: true } | { clean: false; abandoned: string };

/**
 * Runs `work` for at most `graceMs`. On time: clean. Otherwise `describe()` says what was still
 * going on (called at the deadline, so it sees the state then), and the work is left behind.
 */
export async function withinGrace(work: Promise<unknown>, graceMs: number, describe: () => string): Promise<StopOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
  try {
    const first = await Promise.race([work.then(() => 'done' as const), deadline]);
    return first === 'done' ? { clean: true } : { clean: false, abandoned: describe() };
  } finally {
    clearTimeout(timer);
  }
}

// Beyond the process's own grace period, for close() paths that are bounded themselves: a
// backstop, so that even a close() that never settles cannot keep the process from exiting.
const BACKSTOP_MS = 5_000;

/**
 * Runs `close` once on the first SIGINT/SIGTERM and exits 0 when it stops cleanly, 1 when it
 * abandoned something (it has said what) or threw. `graceMs` is the process's grace period:
 * should `close` not settle within it (plus a few seconds), the process exits 1 anyway.
 * A second signal exits at once, for the impatient.
 */
export function onShutdownSignal(log: Logger, close: () => Promise<StopOutcome | void>, graceMs?: number): void {
  let closing = false;
  const handler = (signal: NodeJS.Signals) => {
    if (closing) {
      log.warn('second signal, exiting now', { signal });
      process.exit(1);
    }
    closing = true;
    log.info('shutting down', { signal, graceMs });
    if (graceMs !== undefined) {
      setTimeout(() => {
        log.error('stop did not finish within the grace period; exiting', { graceMs });
        process.exit(1);
      }, graceMs + BACKSTOP_MS).unref();
    }
    close().then(
      (outcome) => process.exit(outcome && !outcome.clean ? 1 : 0),
      (err: unknown) => {
        log.error('shutdown failed', { error: err instanceof Error ? err.message : String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  onLauncherGone(log, () => handler('SIGTERM'));
}

/**
 * A process started by `npm start` or `batch` runs in its own process group (the launcher orders
 * the stop), so a launcher killed with -9 would leave it running for ever, an orphan nobody
 * stops. Its IPC channel closes when the launcher dies: stop as on SIGTERM then.
 */
export function onLauncherGone(log: Logger, stop: () => void): void {
  if (process.send === undefined) return;
  process.once('disconnect', () => {
    log.warn('the launching process is gone; stopping');
    stop();
  });
}

/** Tells a launching parent (npm start, batch) that this process is up, when there is one. */
export function notifyReady(): void {
  process.send?.({ ready: true });
}
