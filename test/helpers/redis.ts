/**
 * Redis for tests: REDIS_URL when set, else a private redis-server on a free port.
 * One per test file (node --test runs each file in its own process).
 */
import { after } from 'node:test';
import { randomUUID } from 'node:crypto';
import { startPrivateRedis, redisServerOnPath, type PrivateRedis } from '../../stack/private-redis.js';

let started: Promise<PrivateRedis | { url: string; stop(): Promise<void> }> | undefined;

// Registered at import time, on the file's root test, so it runs after every suite's own cleanup.
after(async () => (await started)?.stop());

export async function testRedisUrl(): Promise<string> {
  if (!started) {
    const fromEnv = process.env.REDIS_URL;
    if (fromEnv) started = Promise.resolve({ url: fromEnv, stop: async () => undefined });
    else if (redisServerOnPath()) started = startPrivateRedis();
    else throw new Error('tests need Redis: set REDIS_URL or install redis-server');
  }
  return (await started).url;
}

/** A fresh queue name per test, so tests never see each other's jobs or streams. */
export function freshQueueName(label = 'test'): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}
