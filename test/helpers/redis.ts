/**
 * Redis for tests: REDIS_URL when set, else a private redis-server on a free port.
 * One per test file (node --test runs each file in its own process).
 *
 * A shared Redis (REDIS_URL) is left as it was found: every key of each queue name handed out
 * here is deleted after the file's tests, passed or failed. A private one simply goes away.
 */
import { after } from 'node:test';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { BULL_PREFIX, KEY_PREFIX } from '../../common/keys.js';
import { startPrivateRedis, redisServerOnPath, type PrivateRedis } from '../../stack/private-redis.js';

let started: Promise<PrivateRedis | { url: string; stop(): Promise<void> }> | undefined;
const handedOut = new Set<string>();

// Registered at import time, on the file's root test, so it runs after every suite's own cleanup.
after(async () => {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv && handedOut.size > 0) await deleteQueueKeys(fromEnv, [...handedOut]);
  await (await started)?.stop();
});

export async function testRedisUrl(): Promise<string> {
  if (!started) {
    const fromEnv = process.env.REDIS_URL;
    if (fromEnv) started = Promise.resolve({ url: fromEnv, stop: async () => undefined });
    else if (redisServerOnPath()) started = startPrivateRedis();
    else throw new Error('tests need Redis: set REDIS_URL or install redis-server');
  }
  return (await started).url;
}

/** A fresh queue name per test, so tests never see each other's jobs or streams. Its keys are deleted after the file. */
export function freshQueueName(label = 'test'): string {
  const name = `${label}-${randomUUID().slice(0, 8)}`;
  handedOut.add(name);
  return name;
}

/** The key patterns a queue name can own: BullMQ's, ours, and the name itself used as a key (stream tests). */
export function queueKeyPatterns(name: string): string[] {
  return [`${BULL_PREFIX}:${name}:*`, `${KEY_PREFIX}:${name}:*`, name, `${name}:*`];
}

/** Deletes every key of these queues, by SCAN and UNLINK (never KEYS: the Redis may be shared). */
export async function deleteQueueKeys(url: string, names: string[]): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on('error', () => undefined);
  let deleted = 0;
  try {
    await redis.connect();
    for (const pattern of names.flatMap(queueKeyPatterns)) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) deleted += await redis.unlink(...keys);
      } while (cursor !== '0');
    }
  } catch (err) {
    process.stderr.write(`test cleanup: could not delete the keys of ${names.length} test queues: ${err instanceof Error ? err.message : String(err)}\n`);
  } finally {
    redis.disconnect();
  }
  return deleted;
}
