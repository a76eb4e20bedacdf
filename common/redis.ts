import { Redis, type RedisOptions } from 'ioredis';
import type { Logger, LogFields } from './log.js';
import { RepeatLimiter } from './repeat-limiter.js';

/** While a server stays unreachable, one summary line per this interval instead of a line per retry. */
export const ERROR_SUMMARY_INTERVAL_MS = 30_000;

/**
 * An 'error' listener that logs the first error of a run, then at most one summary per
 * interval; `recovered()` (call it when the connection is back) says whether a run ended and logs it.
 */
export function repeatedErrorLog(log: Logger, what: string, fields: LogFields, intervalMs = ERROR_SUMMARY_INTERVAL_MS) {
  const limiter = new RepeatLimiter(intervalMs);
  return {
    error(err: Error): void {
      const verdict = limiter.error(Date.now());
      if (verdict.kind === 'first') log.warn(`${what} error`, { ...fields, error: err });
      else if (verdict.kind === 'summary') {
        const windowS = Math.round(verdict.windowMs / 1000);
        log.warn(`${what} still unreachable, ${verdict.count} errors in the last ${windowS}s`, { ...fields, errors: verdict.count, windowS, error: err });
      }
    },
    recovered(): { errors: number; downMs: number } | undefined {
      return limiter.recovered(Date.now());
    },
  };
}

/**
 * Every long-lived connection is made here: BullMQ needs `maxRetriesPerRequest: null`, and
 * commands must wait through a reconnect instead of failing, so a Redis restart is survivable.
 */
export function createRedis(url: string, log: Logger, name: string, extra: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectionName: name,
    // CLIENT SETINFO is unknown before Redis 7.2 and needs an ACL grant after: not worth either.
    disableClientInfo: true,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...extra,
  });
  let wasReady = false;
  const errors = repeatedErrorLog(log, 'redis', { connection: name });
  redis.on('ready', () => {
    const run = errors.recovered();
    if (wasReady || run) log.info(wasReady ? 'redis reconnected' : 'redis connected', { connection: name, errors: run?.errors, downMs: run?.downMs });
    wasReady = true;
  });
  redis.on('error', (err: Error) => errors.error(err));
  return redis;
}

/** Resolves true when something answers PING at `url` within `timeoutMs`. */
export async function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  const probe = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    enableOfflineQueue: false,
    // Without this, disconnect() after a refused connection holds the process for 2 s.
    disconnectTimeout: 0,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/** A Redis URL fit for terminals and logs: its password, if any, replaced by ***. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.href;
  } catch {
    return url;
  }
}
