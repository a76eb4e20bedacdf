/**
 * enqueue against a real Redis: the library function, then the real CLI as a child process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { loadClientConfig } from '../client/client-config.js';
import { enqueueUrls } from '../client/enqueue-urls.js';
import { parseUrlList } from '../client/parse-url-list.js';
import { ConfigError } from '../common/config.js';
import { DEFAULT_JOB_POLICY, JOB_NAME, outputStem, type ImageJobData, type JobPolicy } from '../common/queue.js';
import { createServer, type Server } from 'node:http';
import { Redis } from 'ioredis';
import { enqueueOnce, jobIdFor } from '../client/enqueue-once.js';
import { keysFor } from '../common/keys.js';
import { freePort } from '../stack/free-port.js';
import { freshQueueName, testRedisUrl } from './helpers/redis.js';

const CLI = fileURLToPath(new URL('../cli/enqueue.js', import.meta.url));
const BASE = 'http://127.0.0.1:8080/images/';
const CLI_TIMEOUT_MS = 30_000;
const TEST_TIMEOUT_MS = 60_000;

async function withQueue<T>(name: string, use: (queue: Queue<ImageJobData>) => Promise<T>): Promise<T> {
  const queue = new Queue<ImageJobData>(name, { connection: { url: await testRedisUrl() } });
  try {
    return await use(queue);
  } finally {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
}

async function tempFile(name: string, text: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'enqueue-test-'));
  const path = join(dir, name);
  await writeFile(path, text);
  return { path, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function runCli(args: string[], env: Record<string, string>, stdin = ''): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    // Only the variables the CLI reads come from the test, so a developer's REDIS_URL cannot leak in.
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    // A hung CLI should fail this test with its output, not stall the whole run.
    const timer = setTimeout(() => child.kill('SIGKILL'), CLI_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin.end(stdin);
  });
}

test('enqueueUrls adds one job per URL with the data and options of the policy', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withQueue(freshQueueName('enqueue'), async (queue) => {
    const list = parseUrlList('cat.png\nhttp://example.com/dog.jpg\ncat.png\nhttp://127.0.0.1:8080/images/cat.png\n', BASE);
    assert.equal(list.entries.length, 2);
    assert.equal(list.duplicates.length, 2);

    const policy: JobPolicy = { ...DEFAULT_JOB_POLICY, attempts: 5, backoffMs: 250 };
    const jobs = await enqueueUrls(queue, list.entries, policy);
    assert.equal(jobs.length, 2);
    assert.equal(await queue.getWaitingCount(), 2);

    const urls = ['http://127.0.0.1:8080/images/cat.png', 'http://example.com/dog.jpg'];
    for (const [i, url] of urls.entries()) {
      const id = jobs[i]?.id;
      assert.ok(id);
      const stored = await queue.getJob(id);
      assert.ok(stored, `job ${id} is in Redis`);
      assert.equal(stored.name, JOB_NAME);
      assert.deepEqual(stored.data, { url, output: outputStem(url) });
      assert.equal(stored.opts.attempts, 5);
      assert.deepEqual(stored.opts.backoff, { type: 'jittered-exponential', delay: 250, jitter: 0.5 });
      assert.ok(stored.opts.removeOnComplete, 'completed jobs are not kept forever');
      assert.ok(stored.opts.removeOnFail, 'failed jobs are not kept forever');
    }
  });
});

test('enqueueUrls splits long lists into chunks and keeps their order', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withQueue(freshQueueName('enqueue-chunks'), async (queue) => {
    const entries = Array.from({ length: 23 }, (_, i) => ({ url: `http://example.com/${i}.png` }));
    const jobs = await enqueueUrls(queue, entries, DEFAULT_JOB_POLICY, 5);
    assert.equal(jobs.length, 23);
    assert.equal(new Set(jobs.map((j) => j.id)).size, 23);
    assert.deepEqual(
      jobs.map((j) => j.data.url),
      entries.map((e) => e.url),
    );
    assert.equal(await queue.getWaitingCount(), 23);
  });
});

test('enqueueUrls with no entries adds nothing', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withQueue(freshQueueName('enqueue-empty'), async (queue) => {
    assert.deepEqual(await enqueueUrls(queue, [], DEFAULT_JOB_POLICY), []);
    assert.equal(await queue.getWaitingCount(), 0);
  });
});

test('the CLI adds the valid lines, reports the bad and duplicate ones, and exits 0', { timeout: TEST_TIMEOUT_MS }, async () => {
  const queueName = freshQueueName('enqueue-cli');
  const file = await tempFile(
    'images.txt',
    ['# test images', 'cat.png', 'http://example.com/dog.jpg  # a dog', '', 'ftp://example.com/x.png', 'http://127.0.0.1:8080/images/cat.png', 'https://example.com/bird.webp'].join('\n'),
  );
  try {
    await withQueue(queueName, async (queue) => {
      const run = await runCli(['--no-check', file.path], { REDIS_URL: await testRedisUrl(), QUEUE_NAME: queueName });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`^added 3 jobs to queue "${queueName}" \\(skipped: 1 duplicate, 1 invalid\\)$`, 'm'));
      assert.match(run.stdout, /job ids: url-[0-9a-f]{32}, url-[0-9a-f]{32}, url-[0-9a-f]{32}$/m);
      assert.match(run.stdout, /npm run status/);
      assert.match(run.stderr, new RegExp(`no scheduler serves queue "${queueName}"`));
      assert.match(run.stderr, new RegExp(`^${escape(file.path)}:5: unsupported scheme "ftp" \\(only http and https\\): ftp://example.com/x.png$`, 'm'));
      assert.match(run.stderr, new RegExp(`^${escape(file.path)}:6: skipped duplicate of line 2: http://127.0.0.1:8080/images/cat.png$`, 'm'));

      const waiting = await queue.getWaiting();
      assert.deepEqual(waiting.map((j) => j.data.url).sort(), [
        'http://127.0.0.1:8080/images/cat.png',
        'http://example.com/dog.jpg',
        'https://example.com/bird.webp',
      ]);
      assert.equal(waiting[0]?.opts.attempts, DEFAULT_JOB_POLICY.attempts);
    });
  } finally {
    await file.cleanup();
  }
});

test('the CLI reads standard input with "-" and honours IMAGES_BASE_URL and JOB_ATTEMPTS', { timeout: TEST_TIMEOUT_MS }, async () => {
  const queueName = freshQueueName('enqueue-stdin');
  await withQueue(queueName, async (queue) => {
    const run = await runCli(
      ['-', '--no-check'],
      { REDIS_URL: await testRedisUrl(), QUEUE_NAME: queueName, IMAGES_BASE_URL: 'http://fileserver:8080/images', JOB_ATTEMPTS: '7' },
      'cat.png\r\n',
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^added 1 job to queue "${queueName}"$`, 'm'));
    const [job] = await queue.getWaiting();
    assert.equal(job?.data.url, 'http://fileserver:8080/images/cat.png');
    assert.equal(job?.opts.attempts, 7);
  });
});

test('the CLI exits 2 and adds nothing when every line is invalid', { timeout: TEST_TIMEOUT_MS }, async () => {
  const queueName = freshQueueName('enqueue-bad');
  const file = await tempFile('bad.txt', 'ftp://example.com/a.png\nnot a url\n');
  try {
    await withQueue(queueName, async (queue) => {
      const run = await runCli([file.path], { REDIS_URL: await testRedisUrl(), QUEUE_NAME: queueName });
      assert.equal(run.code, 2);
      assert.match(run.stderr, /bad\.txt:1: /);
      assert.match(run.stderr, /bad\.txt:2: contains whitespace/);
      assert.match(run.stderr, /bad\.txt: no valid image URL: every URL line is invalid/);
      assert.equal(await queue.getWaitingCount(), 0);
    });
  } finally {
    await file.cleanup();
  }
});

test('the CLI exits 2 without touching Redis when the file holds only comments', { timeout: TEST_TIMEOUT_MS }, async () => {
  const file = await tempFile('empty.txt', '# nothing yet\n\n');
  try {
    const run = await runCli([file.path], { REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /empty\.txt: no image URLs in it/);
  } finally {
    await file.cleanup();
  }
});

test('the CLI prints usage and exits 2 without a file', { timeout: TEST_TIMEOUT_MS }, async () => {
  const run = await runCli([], {});
  assert.equal(run.code, 2);
  assert.match(run.stderr, /^enqueue: which file\?/);
  assert.match(run.stderr, /usage: offer-invert enqueue/);
});

test('the CLI says clearly that a missing file is missing', { timeout: TEST_TIMEOUT_MS }, async () => {
  const run = await runCli(['/nonexistent/images.txt'], {});
  assert.equal(run.code, 2);
  assert.match(run.stderr, /\/nonexistent\/images\.txt: no such file/);
});

test('the CLI rejects bad configuration with every problem listed', { timeout: TEST_TIMEOUT_MS }, async () => {
  const file = await tempFile('images.txt', 'cat.png\n');
  try {
    const run = await runCli([file.path], { REDIS_URL: 'http://nope', JOB_ATTEMPTS: 'three' });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /REDIS_URL/);
    assert.match(run.stderr, /JOB_ATTEMPTS/);
  } finally {
    await file.cleanup();
  }
});

test('the CLI exits 1 promptly with advice when Redis does not answer', { timeout: TEST_TIMEOUT_MS }, async () => {
  const file = await tempFile('images.txt', 'cat.png\n');
  try {
    const port = await freePort();
    const run = await runCli(['--no-check', file.path], { REDIS_URL: `redis://:hunter2@127.0.0.1:${port}` });
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`Redis does not answer at redis://:\\*\\*\\*@127.0.0.1:${port}`));
    assert.match(run.stderr, /npm start/);
    assert.match(run.stderr, /REDIS_URL/);
    assert.match(run.stderr, /redis-server/);
    assert.doesNotMatch(run.stderr, /hunter2/);
    assert.equal(run.stdout, '');
    assert.ok(run.ms < 10_000, `took ${run.ms} ms`);
  } finally {
    await file.cleanup();
  }
});

test('loadClientConfig: defaults, derived images base, and all problems at once', () => {
  const defaults = loadClientConfig({});
  assert.equal(defaults.redisUrl, 'redis://127.0.0.1:6379');
  assert.equal(defaults.queueName, 'images');
  assert.equal(defaults.imagesBaseUrl, 'http://127.0.0.1:8080/images/');
  assert.deepEqual(defaults.jobPolicy, DEFAULT_JOB_POLICY);

  assert.equal(loadClientConfig({ PORT: '18181' }).imagesBaseUrl, 'http://127.0.0.1:18181/images/', 'PORT as npm start uses it');
  assert.equal(loadClientConfig({ PORT: '18181', HOST: '0.0.0.0' }).fileserverUrl, 'http://127.0.0.1:18181/');
  assert.equal(loadClientConfig({ PORT: '18181', FILESERVER_URL: 'http://fs:9000' }).imagesBaseUrl, 'http://fs:9000/images/');
  assert.throws(() => loadClientConfig({ PORT: '0' }), /FILESERVER_URL/);
  assert.equal(loadClientConfig({ FILESERVER_URL: 'http://fileserver:8080' }).imagesBaseUrl, 'http://fileserver:8080/images/');
  assert.equal(loadClientConfig({ FILESERVER_URL: 'http://proxy/files' }).imagesBaseUrl, 'http://proxy/files/images/');
  assert.equal(loadClientConfig({ IMAGES_BASE_URL: 'https://cdn.example.com/pics' }).imagesBaseUrl, 'https://cdn.example.com/pics/');

  assert.throws(
    () => loadClientConfig({ REDIS_URL: 'http://x', QUEUE_NAME: 'a:b', JOB_ATTEMPTS: '0', JOB_BACKOFF_MS: '-1', IMAGES_BASE_URL: 'ftp://x/' }),
    (err: unknown) => err instanceof ConfigError && err.problems.length === 5,
  );
});

/** An HTTP server that answers every request, like a fileserver's /images/. */
async function imageServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const server: Server = createServer((_req, res) => res.end('x'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return { port: address.port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

test('jobIdFor: one id per URL, no ":", never integer-like; --again ids differ from it and each other', () => {
  const id = jobIdFor('http://a/cat.png');
  assert.match(id, /^url-[0-9a-f]{32}$/);
  assert.equal(jobIdFor('http://a/cat.png'), id);
  assert.notEqual(jobIdFor('http://a/dog.png'), id);
  const again = jobIdFor('http://a/cat.png', { nowMs: 1000, nonce: 'abc' });
  assert.ok(again.startsWith(`${id}-`) && !again.includes(':'));
  assert.notEqual(jobIdFor('http://a/cat.png', { nowMs: 1000, nonce: 'abd' }), again);
});

test('enqueueOnce adds a URL once across calls, again with fresh ids when asked, and keeps output names', { timeout: TEST_TIMEOUT_MS }, async () => {
  await withQueue(freshQueueName('enqueue-once'), async (queue) => {
    const redis = new Redis(await testRedisUrl());
    try {
      const entries = [{ url: 'http://example.com/a.png' }, { url: 'http://example.com/b.png' }];
      const first = await enqueueOnce(queue, redis, entries, { ...DEFAULT_JOB_POLICY, attempts: 1 }, { chunkSize: 1 });
      assert.deepEqual([first.added.length, first.existing.length], [2, 0]);
      // One of them fails for good, as a scheduler would fail it.
      const worker = new Worker(queue.name, null, { connection: { url: await testRedisUrl() } });
      const taken = await worker.getNextJob('token');
      assert.ok(taken);
      await taken.moveToFailed(new Error('DOWNLOAD_NOT_FOUND'), 'token', false);
      await worker.close();
      const second = await enqueueOnce(queue, redis, [...entries, { url: 'http://example.com/c.png' }], DEFAULT_JOB_POLICY);
      assert.deepEqual([second.added.length, second.existing.length], [1, 2]);
      assert.deepEqual(second.existingFailed, [taken.id]);
      assert.equal(await queue.getWaitingCount(), 2);
      const again = await enqueueOnce(queue, redis, entries, DEFAULT_JOB_POLICY, { again: true });
      assert.deepEqual([again.added.length, again.existing.length], [2, 0]);
      assert.equal(await queue.getWaitingCount(), 4);
      assert.equal(again.added[0]?.data.output, outputStem('http://example.com/a.png'));
      // A job removed (e.g. by removeOnComplete's age) can be added again.
      await queue.remove(jobIdFor('http://example.com/a.png'));
      const afterRemoval = await enqueueOnce(queue, redis, entries, DEFAULT_JOB_POLICY);
      assert.deepEqual([afterRemoval.added.length, afterRemoval.existing.length], [1, 1]);
    } finally {
      redis.disconnect();
    }
  });
});

test('the CLI honours PORT, adds an unchanged list once across runs, and again with --again', { timeout: TEST_TIMEOUT_MS }, async () => {
  const queueName = freshQueueName('enqueue-dedupe');
  const images = await imageServer();
  const file = await tempFile('images.txt', 'cat.png\ndog.png\n');
  try {
    await withQueue(queueName, async (queue) => {
      const env = { REDIS_URL: await testRedisUrl(), QUEUE_NAME: queueName, PORT: String(images.port) };
      const first = await runCli([file.path], env);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /^added 2 jobs/m);
      assert.deepEqual((await queue.getWaiting()).map((j) => j.data.url).sort(), [
        `http://127.0.0.1:${images.port}/images/cat.png`,
        `http://127.0.0.1:${images.port}/images/dog.png`,
      ]);

      const second = await runCli([file.path], env);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /^added 0 jobs to queue "[^"]+" \(skipped: 2 already queued or done \(use --again to run them again\)\)$/m);
      assert.equal(await queue.getWaitingCount(), 2);

      const again = await runCli(['--again', file.path], env);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /^added 2 jobs/m);
      const waiting = await queue.getWaiting();
      assert.equal(waiting.length, 4);
      assert.equal(new Set(waiting.map((j) => j.data.output)).size, 2, 'a re-run writes the same outputs');
    });
  } finally {
    await file.cleanup();
    await images.close();
  }
});

test('the CLI says nothing answers at the image base, adds nothing and exits 1', { timeout: TEST_TIMEOUT_MS }, async () => {
  const queueName = freshQueueName('enqueue-nobase');
  const file = await tempFile('images.txt', 'cat.png\n');
  try {
    await withQueue(queueName, async (queue) => {
      const port = await freePort();
      const run = await runCli([file.path], { REDIS_URL: await testRedisUrl(), QUEUE_NAME: queueName, PORT: String(port) });
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, new RegExp(`nothing answers at http://127\\.0\\.0\\.1:${port}/images/ .*is the stack running\\? .*FILESERVER_URL/IMAGES_BASE_URL`));
      assert.equal(await queue.count(), 0);
    });
  } finally {
    await file.cleanup();
  }
});

test('the CLI does not warn about a missing scheduler when a leader holds the lease', { timeout: TEST_TIMEOUT_MS }, async () => {
  const queueName = freshQueueName('enqueue-leader');
  const redis = new Redis(await testRedisUrl());
  const keys = keysFor(queueName);
  try {
    await redis.set(keys.leader, 'scheduler-x 1', 'PX', 30_000);
    await withQueue(queueName, async () => {
      const run = await runCli(['-', '--no-check'], { REDIS_URL: await testRedisUrl(), QUEUE_NAME: queueName }, 'http://example.com/a.png\n');
      assert.equal(run.code, 0, run.stderr);
      assert.doesNotMatch(run.stderr, /no scheduler/);
    });
  } finally {
    await redis.del(keys.leader);
    redis.disconnect();
  }
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
