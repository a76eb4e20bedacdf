/**
 * Redis is the control plane, so every process must work with credentials and the least
 * privilege the README shows: a private redis-server with a password and one ACL user per role
 * (scheduler, executor, producer), the whole pipeline running under them, and an executor that
 * cannot so much as read a job.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { enqueueUrls } from '../client/enqueue-urls.js';
import { watchJobs } from '../client/watch-jobs.js';
import { DEFAULT_JOB_POLICY, type ImageJobData } from '../common/queue.js';
import { redisAnswers } from '../common/redis.js';
import { aclRules } from '../stack/redis-acl.js';
import { freePort } from '../stack/free-port.js';
import { redisServerOnPath } from '../stack/private-redis.js';
import { startPipeline } from './helpers/pipeline.js';
import { freshQueueName } from './helpers/redis.js';

async function redisWithUsers(queueName: string): Promise<{ port: number; stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'acl-redis-'));
  const port = await freePort();
  const rules = aclRules(queueName);
  const aclFile = join(dir, 'users.acl');
  await writeFile(
    aclFile,
    [
      'user default on >admin-secret ~* &* +@all',
      `user scheduler on >sched-secret ${rules.scheduler}`,
      `user executor on >exec-secret ${rules.executor}`,
      `user producer on >prod-secret ${rules.producer}`,
    ].join('\n') + '\n',
  );
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--aclfile', aclFile], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !(await redisAnswers(`redis://default:admin-secret@127.0.0.1:${port}`, 200)); i++) await new Promise((r) => setTimeout(r, 50));
  return {
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describe('Redis with passwords and least-privilege ACL users', { skip: !redisServerOnPath() && 'redis-server is not installed' }, () => {
  it('the pipeline runs with one user per role, and an executor cannot touch the queue', { timeout: 60_000 }, async (t) => {
    const queueName = freshQueueName('acl');
    const redis = await redisWithUsers(queueName);
    const url = (user: string, pass: string) => `redis://${user}:${pass}@127.0.0.1:${redis.port}`;
    const p = await startPipeline({
      executors: 1,
      queueName,
      redisUrl: url('default', 'admin-secret'),
      schedulerEnv: { REDIS_URL: url('scheduler', 'sched-secret') },
      executorEnv: { REDIS_URL: url('executor', 'exec-secret') },
    });
    const producerConnection = new Redis(url('producer', 'prod-secret'), { maxRetriesPerRequest: null });
    const producer = new Queue<ImageJobData>(queueName, { connection: producerConnection });
    t.after(async () => {
      await producer.close();
      producerConnection.disconnect();
      await p.stop();
      await redis.stop();
    });
    await writeFile(join(p.imagesDir, 'a.png'), await sharp({ create: { width: 4, height: 4, channels: 3, background: '#123456' } }).png().toBuffer());
    const jobs = await enqueueUrls(producer, [{ url: `${p.fileserverUrl}/images/a.png` }], DEFAULT_JOB_POLICY);
    const outcome = await watchJobs(p.queue, p.events, jobs.map((j) => String(j.id)), { reconcileEveryMs: 200 });
    assert.equal(outcome.completed.length, 1, JSON.stringify(outcome.failed));

    const asExecutor = new Redis(url('executor', 'exec-secret'), { maxRetriesPerRequest: 1 });
    t.after(() => asExecutor.disconnect());
    await assert.rejects(asExecutor.hgetall(`bull:${queueName}:${jobs[0]!.id}`), /NOPERM/);
    await assert.rejects(asExecutor.get(`offer-invert:another-queue:leader`), /NOPERM/);
    const wrong = new Redis(url('executor', 'wrong'), { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    t.after(() => wrong.disconnect());
    const refused = new Promise<Error>((resolve) => wrong.once('error', resolve));
    wrong.connect().catch(() => undefined);
    assert.match((await refused).message, /WRONGPASS|invalid username-password/);
  });
});

describe('Redis over TLS (rediss://)', { skip: (!redisServerOnPath() || spawnSync('openssl', ['version']).status !== 0) && 'needs redis-server and openssl' }, () => {
  it('enqueue, a scheduler and an executor connect with rediss:// and a password, trusting the CA from NODE_EXTRA_CA_CERTS', { timeout: 60_000 }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'tls-redis-'));
    const ssl = (...args: string[]) => assert.equal(spawnSync('openssl', args, { cwd: dir, stdio: 'ignore' }).status, 0, `openssl ${args.join(' ')}`);
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=offer-invert test CA');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    await writeFile(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'ext.cnf');
    const port = await freePort();
    const server = spawn('redis-server', ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--tls-cert-file', 'server.crt', '--tls-key-file', 'server.key', '--tls-ca-cert-file', 'ca.crt', '--tls-auth-clients', 'no', '--requirepass', 'tls-secret', '--save', ''], { cwd: dir, stdio: 'ignore' });
    t.after(async () => {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
      await rm(dir, { recursive: true, force: true });
    });
    const queueName = freshQueueName('tls');
    const env = { ...process.env, REDIS_URL: `rediss://:tls-secret@127.0.0.1:${port}`, NODE_EXTRA_CA_CERTS: join(dir, 'ca.crt'), QUEUE_NAME: queueName, UPLOAD_TOKEN: 'x', LOG_LEVEL: 'info', METRICS_PORT: '0' };
    const list = join(dir, 'list.txt');
    await writeFile(list, 'http://127.0.0.1:9/a.png\n');
    const run = (script: string, until: RegExp) =>
      new Promise<string>((resolve) => {
        const child = spawn(process.execPath, [script, ...(script.endsWith('enqueue.js') ? [list] : [])], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        const done = () => {
          child.kill('SIGTERM');
          resolve(out);
        };
        const timer = setTimeout(done, 20_000);
        for (const s of [child.stdout, child.stderr]) s.on('data', (d: Buffer) => {
          out += d.toString();
          if (until.test(out)) {
            clearTimeout(timer);
            done();
          }
        });
        child.on('exit', () => {
          clearTimeout(timer);
          resolve(out);
        });
      });
    const dist = (p: string) => new URL(`../${p}`, import.meta.url).pathname;
    assert.match(await run(dist('cli/enqueue.js'), /added 1 job/), /added 1 job/);
    assert.match(await run(dist('scheduler/main.js'), /leading/), /leading/);
    assert.match(await run(dist('executor/main.js'), /executor registered/), /executor registered/);
  });
});
