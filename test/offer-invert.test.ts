/**
 * The `offer-invert` command as a user runs it (bin/offer-invert.js, a real child process):
 * --help everywhere without side effects, one-line usage errors, the same answers from enqueue
 * and batch for the same bad list, batch giving up on a task size no executor fits, and
 * retry-failed, against a real Redis.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { ImageJobData } from '../common/queue.js';
import { freePort } from '../stack/free-port.js';
import { freshQueueName, testRedisUrl } from './helpers/redis.js';

const LAUNCHER = fileURLToPath(new URL('../../bin/offer-invert.js', import.meta.url));
const dist = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string> = {}, script = LAUNCHER): Promise<Run> {
  return new Promise((resolve, reject) => {
    // Only what the test gives: a developer's REDIS_URL or PORT cannot leak in.
    const child = spawn(process.execPath, [script, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const guard = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
  });
}

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'offer-invert-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('offer-invert', () => {
  it('--help of the command and of every subcommand and process prints usage, exits 0 and touches nothing', async () => {
    const redisUrl = await testRedisUrl();
    const redis = new Redis(redisUrl);
    try {
      const before = await redis.dbsize();
      const env = { REDIS_URL: redisUrl, QUEUE_NAME: freshQueueName('help'), PORT: String(await freePort()) };
      const commands = ['start', 'enqueue', 'batch', 'service', 'cancel', 'retry-failed', 'status', 'dashboard'];
      const runs: [string, Promise<Run>][] = [
        ['--help', run(['--help'], env)],
        ['help enqueue', run(['help', 'enqueue'], env)],
        ...commands.map((c): [string, Promise<Run>] => [`${c} --help`, run([c, '--help'], env)]),
        ['batch images.txt --help', run(['batch', 'images.txt', '--help'], env)],
        ...['scheduler', 'executor', 'fileserver', 'dashboard'].map((p): [string, Promise<Run>] => [`${p} --help`, run(['--help'], env, dist(`${p}/main.js`))]),
      ];
      for (const [label, pending] of runs) {
        const r = await pending;
        assert.equal(r.code, 0, `${label}: ${r.stderr}`);
        assert.match(r.stdout, /usage/i, label);
        assert.equal(r.stderr, '', label);
      }
      const overview = (await runs[0]![1]).stdout;
      for (const c of commands) assert.match(overview, new RegExp(`^  ${c} `, 'm'));
      assert.match((await runs.find(([l]) => l === 'scheduler --help')![1]).stdout, /TASK_MEM_MB/);
      assert.equal(await redis.dbsize(), before, 'no Redis keys were created');
    } finally {
      redis.disconnect();
    }
  });

  it('an unknown command, flag or argument is one line and exit 2', async () => {
    const cases: [string[], RegExp, string?][] = [
      [['frobnicate'], /^offer-invert: unknown command "frobnicate" \(commands: start, enqueue, .*\)\n$/],
      [['enqueue', '--bogus', 'x.txt'], /^enqueue: Unknown option '--bogus'.*\(see --help\)\n$/],
      [['batch', '--bogus', 'x.txt'], /^batch: Unknown option '--bogus'.*\(see --help\)\n$/],
      [['retry-failed', 'extra'], /^retry-failed: .*\n$/],
      [['cancel', '--bogus'], /^cancel: Unknown option '--bogus'.*\(see --help\)\n$/],
      [['service', 'frobnicate'], /^service: .*\n$/],
      [['start', 'extra'], /^start: unexpected argument "extra".*\n$/],
      [['--port=1'], /^scheduler: unexpected argument "--port=1": settings come from the environment/, 'scheduler/main.js'],
    ];
    for (const [args, want, script] of cases) {
      const r = await run(args, {}, script === undefined ? LAUNCHER : dist(script));
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, want);
    }
    const none = await run([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^usage: offer-invert <command>/);
  });

  it('enqueue and batch give the same message and exit code for the same bad list', async (t) => {
    const dir = await tempDir(t);
    const empty = join(dir, 'empty.txt');
    const invalid = join(dir, 'invalid.txt');
    await writeFile(empty, '# only a comment\n\n');
    await writeFile(invalid, 'ftp://example.com/a.png\nnot a url\n');
    // Nothing answers at this Redis: neither command may get as far as needing it.
    const env = { REDIS_URL: `redis://127.0.0.1:${await freePort()}`, PORT: String(await freePort()) };
    const cases: [string, RegExp][] = [
      [join(dir, 'missing.txt'), /^\S+missing\.txt: no such file \(expected a text file with one image URL per line\)\n$/],
      [dir, /is a directory, not a list of URLs\n$/],
      [empty, /^\S+empty\.txt: no image URLs in it \(one URL per line; '#' starts a comment\)\n$/],
      [invalid, /^\S+invalid\.txt:1: unsupported scheme "ftp".*\n\S+invalid\.txt:2: contains whitespace.*\n\S+invalid\.txt: no valid image URL: every URL line is invalid \(see above\)\n$/],
    ];
    for (const [file, want] of cases) {
      const [enqueue, batch] = await Promise.all([run(['enqueue', file], env), run(['batch', file], env)]);
      assert.equal(enqueue.code, 2, enqueue.stderr);
      assert.equal(batch.code, 2, batch.stderr);
      assert.match(enqueue.stderr, want);
      assert.equal(batch.stderr, enqueue.stderr);
    }
  });

  it('batch shows a task size no executor fits and gives up after BATCH_UNPLACEABLE_WAIT_MS with exit 2', async (t) => {
    const dir = await tempDir(t);
    const list = join(dir, 'images.txt');
    await writeFile(list, 'http://example.com/a.png\n');
    const queueName = freshQueueName('unplaceable');
    const r = await run(['batch', list], {
      REDIS_URL: await testRedisUrl(),
      QUEUE_NAME: queueName,
      UPLOAD_DIR: join(dir, 'uploads'),
      IMAGES_DIR: dir,
      PORT: '0',
      EXECUTORS: '1',
      EXECUTOR_MEM_MB: '512',
      TASK_MEM_MB: '999999',
      BATCH_UNPLACEABLE_WAIT_MS: '1500',
    });
    const redis = new Redis(await testRedisUrl());
    t.after(async () => {
      const queue = new Queue(queueName, { connection: redis });
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      const keys = await redis.keys(`offer-invert:${queueName}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /waiting: no executor can fit one image task \(cpus=[\d.]+ mem=999999MB\).*\(giving up after 2 s\)/);
    assert.match(r.stderr, /batch failed: gave up after 2 s: no executor can fit one image task .*BATCH_UNPLACEABLE_WAIT_MS/);
  });

  it('retry-failed moves the jobs that failed for good back to waiting with their attempts reset', async (t) => {
    const redisUrl = await testRedisUrl();
    const queueName = freshQueueName('retry');
    const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const queue = new Queue<ImageJobData>(queueName, { connection });
    const worker = new Worker(queueName, null, { connection });
    t.after(async () => {
      await worker.close();
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      connection.disconnect();
    });
    const env = { REDIS_URL: redisUrl, QUEUE_NAME: queueName };
    const nothing = await run(['retry-failed'], env);
    assert.equal(nothing.code, 0, nothing.stderr);
    assert.match(nothing.stdout, new RegExp(`^no failed jobs in queue "${queueName}"$`, 'm'));

    await queue.addBulk(['a', 'b', 'c'].map((n) => ({ name: 'invert', data: { url: `http://h/${n}.png`, output: n }, opts: { attempts: 1 } })));
    const reasons = ['DOWNLOAD_NOT_FOUND: 404 from http://h/a.png', 'DOWNLOAD_NOT_FOUND: 404 from http://h/b.png'];
    for (const reason of reasons) {
      const job = await worker.getNextJob('token');
      assert.ok(job);
      await job.moveToFailed(new Error(reason), 'token', false);
    }
    assert.equal(await queue.getFailedCount(), 2);
    const r = await run(['retry-failed'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^retried 2 failed jobs of queue "${queueName}" \\(2 DOWNLOAD_NOT_FOUND\\)$`, 'm'));
    assert.match(r.stderr, /no scheduler serves queue/);
    assert.equal(await queue.getFailedCount(), 0);
    const waiting = await queue.getWaiting();
    assert.equal(waiting.length, 3);
    assert.deepEqual(waiting.map((j) => j.attemptsMade), [0, 0, 0]);
  });
});

describe('the launcher rebuilds only when a source is newer than the build', () => {
  it('staleReason: no build, current, a newer .ts or .proto, no sources at all', async (t) => {
    const { staleReason } = (await import(fileURLToPath(new URL('../../bin/stale-build.js', import.meta.url)))) as {
      staleReason(root: string): string | undefined;
    };
    const { mkdir, utimes } = await import('node:fs/promises');
    const root = await tempDir(t);
    assert.equal(staleReason(root), undefined, 'no tsconfig.json: an install without sources runs what it has');
    await writeFile(join(root, 'tsconfig.json'), '{}');
    await mkdir(join(root, 'cli'));
    await mkdir(join(root, 'protocol'));
    await mkdir(join(root, 'dist'));
    await writeFile(join(root, 'cli/a.ts'), '');
    await writeFile(join(root, 'protocol/m.proto'), '');
    assert.equal(staleReason(root), 'no build yet');
    const past = new Date(Date.now() - 60_000);
    for (const f of ['tsconfig.json', 'cli/a.ts', 'protocol/m.proto']) await utimes(join(root, f), past, past);
    await writeFile(join(root, 'dist/.build-stamp'), `${Date.now() - 30_000}\n`);
    assert.equal(staleReason(root), undefined);
    await utimes(join(root, 'protocol/m.proto'), new Date(), new Date());
    assert.equal(staleReason(root), 'protocol/m.proto changed since the last build');
    await utimes(join(root, 'protocol/m.proto'), past, past);
    await writeFile(join(root, 'cli/notes.md'), 'not a source');
    assert.equal(staleReason(root), undefined);
    await writeFile(join(root, 'cli/b.ts'), '');
    assert.equal(staleReason(root), 'cli/b.ts changed since the last build');
  });
});

describe('process --help', () => {
  it('lists every setting each process reads from its config', async () => {
    const { readFile } = await import('node:fs/promises');
    const { PROCESS_HELP } = await import('../common/process-help.js');
    for (const name of ['scheduler', 'executor', 'fileserver', 'dashboard'] as const) {
      const source = await readFile(fileURLToPath(new URL(`../../${name}/${name === 'dashboard' ? 'dashboard-config' : 'config'}.ts`, import.meta.url)), 'utf8');
      const read = [...source.matchAll(/\.(?:int|number|string|url|bool|list|optionalString|required)\(\s*'([A-Z][A-Z0-9_]*)'/g)].map((m) => m[1]!);
      if (/readMetricsSettings\(/.test(source)) read.push('METRICS_PORT', 'METRICS_HOST');
      assert.ok(read.length > 3, `${name}: found the settings it reads`);
      for (const setting of read) assert.ok(PROCESS_HELP[name].settings.includes(setting), `${name} --help lists ${setting}`);
    }
  });
});
