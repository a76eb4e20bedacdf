/**
 * Work started from a timer or an event callback has nobody to await it: its rejection would be
 * an unhandled rejection, which ends a Node process. These helpers give every such promise a
 * handler that logs, and give each long-running process a last-resort handler that logs and
 * keeps serving (a Redis reply error in some callback is no reason to drop every task).
 */
import { describeError } from './errors.js';
import type { Logger } from './log.js';

/** Runs `fn` without awaiting it; a throw or rejection is logged as `<what> failed`. */
export function inBackground(log: Logger, what: string, fn: () => unknown): void {
  try {
    const result = fn();
    if (result instanceof Promise) result.catch((err: unknown) => log.warn(`${what} failed`, { error: describeError(err) }));
  } catch (err) {
    log.warn(`${what} failed`, { error: describeError(err) });
  }
}

/**
 * A Redis server's error answer (ioredis's ReplyError): the connection and the process are fine,
 * only that command failed.
 */
function isReplyError(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError';
}

/**
 * For a process's composition root: an unhandled rejection is logged and the process goes on;
 * an uncaught Redis reply error too. Any other uncaught exception leaves the process in an
 * unknown state, so it is logged and the process exits 1, as Node would (its supervisor restarts it).
 */
export function guardProcess(log: Logger, exit: (code: number) => void = (code) => process.exit(code)): () => void {
  const onRejection = (reason: unknown) => log.error('unhandled rejection (kept serving)', { error: describeError(reason) });
  const onException = (err: unknown) => {
    if (isReplyError(err)) {
      log.error('uncaught Redis error (kept serving)', { error: describeError(err) });
      return;
    }
    log.error('uncaught exception; exiting', { error: describeError(err) });
    exit(1);
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
