/**
 * One SIGTERM stops a process even with Redis gone: a real scheduler and a real executor, each
 * against its own private redis-server, which is then stopped. Their close() would wait on Redis
 * commands forever (they queue through a reconnect); the grace period bounds it, the process says
 * what it abandoned and exits 1. While Redis is away, each connection logs its first error only.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { redisServerOnPath, startPrivateRedis } from '../stack/private-redis.js';
import { jsonLogLines } from './helpers/log-lines.js';
import { freshQueueName } from './helpers/redis.js';

const main = (name: string) => fileURLToPath(new URL(`../${name}/main.js`, import.meta.url));

interface Proc {
  output: () => string;
  waitFor: (re: RegExp) => Promise<void>;
  exited: Promise<number | null>;
  signal: (s: NodeJS.Signals) => void;
}

function startProcess(script: string, env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [script], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const onData = (d: Buffer) => {
    text += d.toString();
    for (const w of [...waiters]) {
      if (w.re.test(text)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    output: () => text,
    waitFor: (re) => (re.test(text) ? Promise.resolve() : new Promise((resolve) => waiters.push({ re, resolve }))),
    exited,
    signal: (s) => child.kill(s),
  };
}

const cases: { name: string; script: string; up: RegExp; env: Record<string, string> }[] = [
  { name: 'scheduler', script: main('scheduler'), up: /"msg":"leading"/, env: {} },
  { name: 'executor', script: main('executor'), up: /"msg":"executor registered"/, env: { EXECUTOR_ID: 'shutdown-test', UPLOAD_TOKEN: 'x' } },
];

describe('the first SIGTERM stops a process with Redis gone', { skip: redisServerOnPath() ? false : 'needs redis-server on PATH' }, () => {
  for (const c of cases) {
    it(`${c.name}: exits within its grace period, saying what it abandoned`, { timeout: 60_000 }, async (t) => {
      const redis = await startPrivateRedis();
      t.after(() => redis.stop());
      const proc = startProcess(c.script, { REDIS_URL: redis.url, QUEUE_NAME: freshQueueName('shutdown'), SHUTDOWN_GRACE_MS: '1500', LOG_LEVEL: 'info', ...c.env });
      t.after(() => proc.signal('SIGKILL'));
      await proc.waitFor(c.up);
      await redis.stop();
      await proc.waitFor(/"msg":"redis error"/);
      // Several reconnect attempts fail meanwhile (200 ms, 400 ms, ...): none of them is logged again.
      await new Promise((r) => setTimeout(r, 3000));
      proc.signal('SIGTERM');
      const code = await proc.exited;
      const lines = jsonLogLines(proc.output());
      const msgs = lines.map((l) => l.msg);
      assert.equal(code, 1, proc.output());
      assert.equal(msgs.filter((m) => m === 'shutting down').length, 1);
      const abandoned = lines.find((l) => l.msg === 'stop abandoned after the grace period');
      assert.ok(abandoned, proc.output());
      assert.equal(abandoned.graceMs, 1500);
      assert.match(String(abandoned.abandoned), /redis/);
      assert.deepEqual(lines.find((l) => l.msg === `${c.name} stopped`)?.clean, false, proc.output());
      const errorLines = lines.filter((l) => l.msg === 'redis error');
      const connections = errorLines.map((l) => String(l.connection));
      assert.ok(connections.length > 0);
      assert.deepEqual(connections, [...new Set(connections)], 'one "redis error" line per connection');
    });
  }

  it('scheduler: says when Redis is back, then stops cleanly (exit 0) on SIGTERM', { timeout: 60_000 }, async (t) => {
    const first = await startPrivateRedis();
    const port = Number(new URL(first.url).port);
    const proc = startProcess(main('scheduler'), { REDIS_URL: first.url, QUEUE_NAME: freshQueueName('shutdown'), SHUTDOWN_GRACE_MS: '10000', LOG_LEVEL: 'info' });
    t.after(() => proc.signal('SIGKILL'));
    await proc.waitFor(/"msg":"leading"/);
    await first.stop();
    await proc.waitFor(/"msg":"redis error"/);
    const second = await startPrivateRedis({ port });
    t.after(() => second.stop());
    await proc.waitFor(/"msg":"redis reconnected"/);
    proc.signal('SIGTERM');
    assert.equal(await proc.exited, 0, proc.output());
    const lines = jsonLogLines(proc.output());
    const back = lines.find((l) => l.msg === 'redis reconnected');
    assert.ok(typeof back?.errors === 'number' && back.errors >= 1, proc.output());
    assert.deepEqual(lines.find((l) => l.msg === 'scheduler stopped')?.clean, true, proc.output());
  });
});
