import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from './log.js';

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
  redis.on('ready', () => {
    if (wasReady) log.info('redis reconnected', { connection: name });
    wasReady = true;
  });
  redis.on('error', (err: Error) => log.warn('redis error', { connection: name, error: err.message }));
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
