/**
 * /metrics of every process, against what really happened: real processes (launchStack, as
 * `npm start` runs them), real Redis, real HTTP. A small batch (the sample images and one
 * missing) runs through; then each process's /metrics must agree with the queue, the sources
 * and the outputs on disk.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { enqueueUrls } from '../client/enqueue-urls.js';
import { createLogger } from '../common/log.js';
import { DEFAULT_JOB_POLICY, type ImageJobData, type ImageJobResult } from '../common/queue.js';
import { launchStack, type RunningStack } from '../stack/launch-stack.js';
import { sample } from './helpers/prometheus-text.js';
import { freshQueueName, testRedisUrl } from './helpers/redis.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const IMAGES_DIR = join(ROOT, 'images');

async function get(url: string): Promise<{ status: number; text: string; type: string }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('metrics: a batch through real processes, then every /metrics', () => {
  let stack: RunningStack;
  let root: string;
  let redis: Redis;
  let queue: Queue<ImageJobData, ImageJobResult>;
  let images: string[];
  const texts = new Map<string, string>();

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'metrics-test-'));
    const queueName = freshQueueName('metrics');
    stack = await launchStack(
      {
        redisUrl: await testRedisUrl(),
        executors: 2,
        schedulers: 2,
        port: 0,
        host: '127.0.0.1',
        uploadDir: join(root, 'uploads'),
        imagesDir: IMAGES_DIR,
        queueName,
        env: { LOG_LEVEL: 'warn', ALLOW_PRIVATE_NETWORKS: 'true' },
        output: () => undefined,
        metricsPort: 'free',
      },
      createLogger({}, 'silent'),
    );
    redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
    queue = new Queue<ImageJobData, ImageJobResult>(queueName, { connection: redis });
    images = (await readdir(IMAGES_DIR)).filter((n) => !n.startsWith('.')).sort();
    const urls = [...images.map((n) => `${stack.imagesBaseUrl}${n}`), `${stack.imagesBaseUrl}missing.png`];
    await enqueueUrls(queue, urls.map((url) => ({ url })), { ...DEFAULT_JOB_POLICY, attempts: 1 });
    await waitFor('every job to end', async () => {
      const c = await queue.getJobCounts('completed', 'failed');
      return (c.completed ?? 0) + (c.failed ?? 0) === urls.length;
    });
    // Task updates are acknowledged after the job is written; give the last ones a moment to be counted everywhere.
    await waitFor('the executors to count every ended image', async () => {
      let ended = 0;
      for (const m of stack.metrics.filter((x) => x.process.startsWith('executor'))) ended += sample((await get(m.url)).text, 'offer_invert_executor_tasks_ended_total') ?? 0;
      return ended === urls.length;
    });
    for (const m of stack.metrics) texts.set(m.process, (await get(m.url)).text);
  });

  after(async () => {
    await stack?.stop();
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    // The pipeline's own keys (streams, registry, state) go too: REDIS_URL may be a shared Redis.
    const keys = (await redis?.keys(`offer-invert:${queue?.name}:*`).catch(() => [])) ?? [];
    if (keys.length > 0) await redis.del(...keys);
    redis?.disconnect();
    await rm(root, { recursive: true, force: true });
  });

  const text = (proc: string) => {
    const t = texts.get(proc);
    assert.ok(t !== undefined, `${proc} served /metrics`);
    return t;
  };
  const executors = () => [...texts.keys()].filter((k) => k.startsWith('executor-'));
  const acrossExecutors = (name: string, labels: Record<string, string> = {}) => executors().reduce((sum, e) => sum + (sample(text(e), name, labels) ?? 0), 0);

  it('every process has its own port and answers /metrics and /healthz', async () => {
    assert.deepEqual(stack.metrics.map((m) => m.process).sort(), ['executor-1', 'executor-2', 'fileserver', 'scheduler-1', 'scheduler-2']);
    assert.equal(new Set(stack.metrics.map((m) => m.url)).size, 5);
    for (const m of stack.metrics) {
      const res = await get(m.url);
      assert.equal(res.status, 200, m.url);
      assert.match(res.type, /^text\/plain; version=0\.0\.4/);
      const health = await get(m.url.replace(/\/metrics$/, '/healthz'));
      assert.equal(health.status, 200);
      assert.equal((await get(m.url.replace(/\/metrics$/, '/nope'))).status, 404);
    }
  });

  it('the leader exports the queue (BullMQ) and its counters; the standby says it is not leading', () => {
    const [leader, standby] = ['scheduler-1', 'scheduler-2'].sort((a, b) => (sample(text(b), 'offer_invert_scheduler_leader') ?? 0) - (sample(text(a), 'offer_invert_scheduler_leader') ?? 0)) as [string, string];
    assert.equal(sample(text(leader), 'offer_invert_scheduler_leader'), 1);
    assert.equal(sample(text(standby), 'offer_invert_scheduler_leader'), 0);
    assert.ok((sample(text(leader), 'offer_invert_scheduler_leader_epoch') ?? 0) >= 1);
    assert.equal(sample(text(standby), 'bullmq_job_count'), undefined, 'a standby exports no queue');

    const t = text(leader);
    assert.equal(sample(t, 'bullmq_job_count', { state: 'completed' }), images.length);
    assert.equal(sample(t, 'bullmq_job_count', { state: 'failed' }), 1);
    assert.equal(sample(t, 'bullmq_job_completed_total'), images.length, 'BullMQ counts completions (Worker metrics on)');
    assert.equal(sample(t, 'bullmq_job_failed_total'), 1);
    assert.ok((sample(t, 'offer_invert_scheduler_offers_accepted_total') ?? 0) > 0);
    assert.ok((sample(t, 'offer_invert_scheduler_offers_received_total') ?? 0) >= (sample(t, 'offer_invert_scheduler_offers_accepted_total') ?? 0));
    assert.ok((sample(t, 'offer_invert_scheduler_tasks_launched_total') ?? 0) > 0);
    assert.equal(sample(t, 'offer_invert_scheduler_tasks_ended_total', { state: 'TASK_FINISHED' }), images.length);
    assert.equal(sample(t, 'offer_invert_scheduler_tasks_ended_total', { state: 'TASK_FAILED', reason: 'DOWNLOAD_NOT_FOUND' }), 1);
    assert.equal(sample(t, 'offer_invert_scheduler_jobs_total', { outcome: 'completed' }), images.length);
    assert.equal(sample(t, 'offer_invert_scheduler_jobs_total', { outcome: 'failed' }), 1);
    assert.equal(sample(t, 'offer_invert_scheduler_executors', { status: 'live' }), 2);
    assert.equal(sample(t, 'offer_invert_scheduler_executors', { status: 'registered' }), 2);
    assert.ok(sample(t, 'offer_invert_process_cpu_user_seconds_total', { proc: 'scheduler' }) !== undefined, 'process metrics, labelled proc');
  });

  it('executors: bytes downloaded are the sources, bytes uploaded are the outputs, one timing per finished image and stage', async () => {
    let sources = 0;
    for (const n of images) sources += (await stat(join(IMAGES_DIR, n))).size;
    let outputs = 0;
    const files = (await readdir(join(root, 'uploads'))).filter((n) => !n.startsWith('.'));
    for (const n of files) outputs += (await stat(join(root, 'uploads', n))).size;
    assert.equal(files.length, images.length);
    assert.equal(acrossExecutors('offer_invert_executor_downloaded_bytes_total'), sources);
    assert.equal(acrossExecutors('offer_invert_executor_uploaded_bytes_total'), outputs);
    assert.equal(acrossExecutors('offer_invert_executor_tasks_ended_total', { state: 'TASK_FINISHED' }), images.length);
    assert.equal(acrossExecutors('offer_invert_executor_tasks_ended_total', { state: 'TASK_FAILED', reason: 'DOWNLOAD_NOT_FOUND' }), 1);
    for (const stage of ['download', 'invert', 'upload', 'total']) {
      assert.equal(acrossExecutors('offer_invert_executor_image_stage_duration_seconds_count', { stage }), images.length, stage);
    }
    assert.ok(acrossExecutors('offer_invert_executor_offers_sent_total') >= 2);
    assert.equal(acrossExecutors('offer_invert_executor_tasks_running'), 0);
  });

  it('fileserver: one stored upload per image, bytes received are the outputs, sources served', async () => {
    const t = text('fileserver');
    let outputs = 0;
    for (const n of (await readdir(join(root, 'uploads'))).filter((x) => !x.startsWith('.'))) outputs += (await stat(join(root, 'uploads', n))).size;
    assert.equal(sample(t, 'offer_invert_fileserver_uploads_total', { result: 'stored' }), images.length);
    assert.equal(sample(t, 'offer_invert_fileserver_received_bytes_total'), outputs);
    assert.equal(sample(t, 'offer_invert_fileserver_files_served_total', { dir: 'images' }), images.length, 'the 404 is not a file served');
    assert.equal(sample(t, 'offer_invert_fileserver_http_request_duration_seconds_count', { method: 'GET', route: '/images/:name', status: '404' }), 1);
  });
});

describe('metrics server: bad settings and a taken port', () => {
  const run = (script: string, env: Record<string, string>) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [join(ROOT, 'dist', script)], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stderr }));
    });

  it('a bad METRICS_PORT is a usage error (exit 2) named in the config message', async () => {
    const { code, stderr } = await run('scheduler/main.js', { METRICS_PORT: 'nine' });
    assert.equal(code, 2);
    assert.match(stderr, /^scheduler: invalid configuration:\n {2}- METRICS_PORT="nine" must be a port/);
  });

  it('a taken port is one clear line and exit 1, not a stack trace', async (t) => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => holder.close(() => resolve())));
    const address = holder.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const uploads = await mkdtemp(join(tmpdir(), 'metrics-port-'));
    t.after(() => rm(uploads, { recursive: true, force: true }));
    const { code, stderr } = await run('fileserver/main.js', { UPLOAD_TOKEN: 't', PORT: '0', UPLOAD_DIR: uploads, METRICS_PORT: String(port), LOG_LEVEL: 'silent' });
    assert.equal(code, 1);
    assert.equal(stderr, `fileserver: METRICS_PORT=${port} is taken on 127.0.0.1: set METRICS_PORT to a free port, 0 for any, or off\n`);
  });
});
