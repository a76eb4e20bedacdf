import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { bullPrefixFor, keysFor, type Keys } from './keys.js';
import type { Logger, LogFields } from './log.js';
import { parseRedisUrl, type RedisTarget } from './redis-url.js';
import { RepeatLimiter } from './repeat-limiter.js';

export { redactUrl } from './redis-url.js';

/** A connection to one server, a Sentinel-watched primary (both `Redis`), or a Cluster. */
export type RedisClient = Redis | Cluster;

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

/** What callers may tune about a connection; the same for every topology. */
export interface ConnectionOptions {
  /** Coalesce the commands of one tick into one write. Default false. */
  autoPipelining?: boolean;
  /** Null (the default) waits through a reconnect; BullMQ workers need null. */
  maxRetriesPerRequest?: number | null;
  /** Delay before reconnect attempt `times`; null gives up. Default 200 ms per attempt up to 2 s. */
  retryStrategy?: (times: number) => number | null;
  connectTimeoutMs?: number;
  lazyConnect?: boolean;
  enableOfflineQueue?: boolean;
  disconnectTimeoutMs?: number;
}

const defaultRetry = (times: number) => Math.min(times * 200, 2000);

/**
 * A replica that was the primary before a failover answers writes with READONLY until the
 * client follows the new primary: reconnect (Sentinel asks again who leads) and resend.
 */
const reconnectOnReadonly = (err: Error): 2 | false => (err.message.startsWith('READONLY') ? 2 : false);

function serverOptions(target: RedisTarget, name: string, opts: ConnectionOptions): RedisOptions {
  return {
    maxRetriesPerRequest: opts.maxRetriesPerRequest === undefined ? null : opts.maxRetriesPerRequest,
    enableReadyCheck: true,
    connectionName: name,
    // CLIENT SETINFO is unknown before Redis 7.2 and needs an ACL grant after: not worth either.
    disableClientInfo: true,
    retryStrategy: opts.retryStrategy ?? defaultRetry,
    reconnectOnError: reconnectOnReadonly,
    ...(opts.connectTimeoutMs !== undefined ? { connectTimeout: opts.connectTimeoutMs } : {}),
    ...(opts.lazyConnect !== undefined ? { lazyConnect: opts.lazyConnect } : {}),
    ...(opts.enableOfflineQueue !== undefined ? { enableOfflineQueue: opts.enableOfflineQueue } : {}),
    ...(opts.disconnectTimeoutMs !== undefined ? { disconnectTimeout: opts.disconnectTimeoutMs } : {}),
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
    ...(target.db !== undefined ? { db: target.db } : {}),
    ...(target.tls ? { tls: {} } : {}),
  };
}

/**
 * A client for a parsed target, with no logging: createRedis adds that. One place decides how
 * each topology connects, so every process and CLI reaches Sentinel and Cluster the same way.
 */
export function connectTarget(target: RedisTarget, name: string, opts: ConnectionOptions = {}): RedisClient {
  const base = serverOptions(target, name, opts);
  if (target.topology === 'standalone') {
    // The URL as ever (ioredis reads user, password, db and rediss:// from it); options override.
    const { username: _u, password: _p, db: _d, tls: _t, ...rest } = base;
    return new Redis(target.url!, { ...rest, enableAutoPipelining: opts.autoPipelining ?? false });
  }
  if (target.topology === 'sentinel') {
    return new Redis({
      ...base,
      sentinels: target.nodes,
      name: target.masterName!,
      role: 'master',
      enableAutoPipelining: opts.autoPipelining ?? false,
      ...(target.sentinelPassword !== undefined ? { sentinelPassword: target.sentinelPassword } : {}),
      ...(target.sentinelUsername !== undefined ? { sentinelUsername: target.sentinelUsername } : {}),
      ...(target.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
      sentinelRetryStrategy: opts.retryStrategy ?? defaultRetry,
      // Subscribes to +switch-master, so a failover is followed at once rather than at the next error.
      failoverDetector: true,
    });
  }
  const { retryStrategy: _r, lazyConnect, enableOfflineQueue, ...redisOptions } = base;
  const clusterOptions: ClusterOptions = {
    redisOptions,
    enableAutoPipelining: opts.autoPipelining ?? false,
    enableReadyCheck: true,
    clusterRetryStrategy: opts.retryStrategy ?? defaultRetry,
    // A failover takes cluster-node-timeout plus an election; commands retry through it.
    retryDelayOnFailover: 300,
    retryDelayOnClusterDown: 300,
    retryDelayOnTryAgain: 300,
    maxRedirections: 64,
    slotsRefreshTimeout: 2000,
    ...(lazyConnect !== undefined ? { lazyConnect } : {}),
    ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
  };
  return new Cluster(target.nodes, clusterOptions);
}

/**
 * Every long-lived connection is made here: BullMQ needs `maxRetriesPerRequest: null`, and
 * commands must wait through a reconnect instead of failing, so a Redis restart or failover is
 * survivable. `url` is any REDIS_URL form (see redis-url.ts); config loading has checked it.
 */
export function createRedis(url: string, log: Logger, name: string, opts: ConnectionOptions = {}): RedisClient {
  const redis = connectTarget(parseRedisUrl(url), name, opts);
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

/** A short-lived connection that fails at once instead of waiting for a server: connect() it. */
export function probeOptions(timeoutMs: number): ConnectionOptions {
  return {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeoutMs: timeoutMs,
    enableOfflineQueue: false,
    // Without this, disconnect() after a refused connection holds the process for 2 s.
    disconnectTimeoutMs: 0,
  };
}

/** Resolves true when something answers PING at `url` within `timeoutMs`. */
export async function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  let target: RedisTarget;
  try {
    target = parseRedisUrl(url);
  } catch {
    return false;
  }
  const probe = connectTarget(target, 'probe', probeOptions(timeoutMs));
  probe.on('error', () => undefined);
  const timer = new Promise<false>((resolve) => setTimeout(() => resolve(false), timeoutMs * 2).unref());
  try {
    return await Promise.race([probe.connect().then(async () => (await probe.ping()) === 'PONG'), timer]);
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

export function isCluster(redis: RedisClient): redis is Cluster {
  return redis instanceof Cluster;
}

/** Our keys of a queue as laid out on this connection's topology (hash-tagged on a Cluster). */
export function queueKeys(redis: RedisClient, queueName: string): Keys {
  return keysFor(queueName, isCluster(redis));
}

/** BullMQ's connection options for a queue: on a Cluster its prefix carries the queue's hash tag. */
export function bullOptions(redis: RedisClient, queueName: string): { connection: RedisClient; prefix: string } {
  return { connection: redis, prefix: bullPrefixFor(queueName, isCluster(redis)) };
}

/**
 * SCAN for `pattern` on every primary: a Cluster's SCAN sees one node only. Our keys of a queue
 * share one slot there, but which node holds it is not ours to know.
 */
export async function scanKeys(redis: RedisClient, pattern: string, count = 500): Promise<string[]> {
  const nodes: Redis[] = isCluster(redis) ? redis.nodes('master') : [redis];
  const found = new Set<string>();
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      for (const k of batch) found.add(k);
    } while (cursor !== '0');
  }
  return [...found];
}
