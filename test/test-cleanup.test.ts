/**
 * `npm test` against a shared Redis (REDIS_URL) leaves it as it found it: test files that create
 * queues, streams and jobs, and one that fails after creating keys, run as children against a
 * private redis-server; afterwards no key without a TTL is left.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { redisServerOnPath, startPrivateRedis } from '../stack/private-redis.js';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

function runTests(files: string[], redisUrl: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    // NODE_TEST_CONTEXT would make the child think it runs inside this test run and skip its files.
    const { REDIS_URL: _url, NODE_TEST_CONTEXT: _context, ...env } = process.env;
    const child = spawn(process.execPath, ['--test', '--test-concurrency=1', ...files], { env: { ...env, REDIS_URL: redisUrl }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('close', (code) => resolve({ code, output }));
  });
}

/** Keys that would stay forever: those without a TTL. */
async function keysWithoutTtl(url: string): Promise<string[]> {
  const redis = new Redis(url);
  try {
    const left: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) if ((await redis.pttl(key)) === -1) left.push(key);
    } while (cursor !== '0');
    return left;
  } finally {
    redis.disconnect();
  }
}

describe('tests clean up a shared Redis', { skip: redisServerOnPath() ? false : 'needs redis-server on PATH' }, () => {
  it('leaves no key without a TTL, also after a failing test', { timeout: 180_000 }, async (t) => {
    const redis = await startPrivateRedis();
    t.after(() => redis.stop());
    const files = ['job-queue.test.js', 'job-outcomes.test.js', 'stream-inbox.test.js'];
    const passing = await runTests(files.map(here), redis.url);
    assert.equal(passing.code, 0, passing.output);
    assert.match(passing.output, /^# pass [1-9]/m, 'the files ran');
    const failing = await runTests([here('fixtures/fails-with-keys.js')], redis.url);
    assert.notEqual(failing.code, 0, failing.output);
    assert.match(failing.output, /failing on purpose/);
    assert.deepEqual(await keysWithoutTtl(redis.url), []);
  });
});
