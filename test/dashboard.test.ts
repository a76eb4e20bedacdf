/**
 * The dashboard as a process against a real stack: the token rule over real HTTP, and the
 * cluster page in headless Chromium (playwright-core) checked against the queue: executor ids,
 * the completed count (also after the page refreshed itself), thumbnails that load, bull-board
 * at /queues naming the queue. Saves a screenshot. Skipped, with the reason, without Chromium.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { BOARD_CSP } from '../dashboard/cluster-page.js';
import { redisServerOnPath } from '../stack/private-redis.js';
import { freePort } from '../stack/free-port.js';
import { makeCorpus } from './faults/corpus.js';
import { FaultStack, until } from './faults/fault-stack.js';
import { freshQueueName, testRedisUrl } from './helpers/redis.js';

/** The little of the DOM the checks use (this project compiles without the DOM types). */
interface PageDocument {
  querySelectorAll(selector: string): ArrayLike<{ complete: boolean; naturalWidth: number; alt: string }>;
  getElementById(id: string): { textContent: string | null } | null;
}
declare function pageDocument(): PageDocument;

const DASHBOARD_JS = fileURLToPath(new URL('../dashboard/main.js', import.meta.url));
const START_JS = fileURLToPath(new URL('../cli/start.js', import.meta.url));

/** `npm start` until its banner is printed, then SIGTERM; its exit code and output. */
async function startStack(env: Record<string, string>, whileUp: (banner: string) => Promise<void>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const root = await mkdtemp(join(tmpdir(), 'dashboard-start-'));
  await mkdir(join(root, 'images'));
  try {
    const child = spawn(process.execPath, [START_JS], {
      env: { ...process.env, QUEUE_NAME: freshQueueName('dash'), REDIS_URL: await testRedisUrl(), PORT: '0', EXECUTORS: '1', IMAGES_DIR: join(root, 'images'), UPLOAD_DIR: join(root, 'uploads'), LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await until('the banner', () => (stdout.includes('pipeline is up') && stdout.includes('stop:') ? true : undefined), 60_000, 50);
      await whileUp(stdout);
    } finally {
      child.kill('SIGTERM');
    }
    return { code: await exited, stdout, stderr };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
const TOKEN = 'dashboard-test-token-0123456789';

interface Dashboard {
  url: string;
  child: ChildProcess;
  output: () => string;
  stop(): Promise<number | null>;
}

function runDashboard(stack: FaultStack, env: Record<string, string>): { child: ChildProcess; exited: Promise<number | null>; output: () => string } {
  const child = spawn(process.execPath, [DASHBOARD_JS], {
    env: { ...(process.env as Record<string, string>), REDIS_URL: stack.redisUrl, QUEUE_NAME: stack.queueName, FILESERVER_URL: `http://127.0.0.1:${stack.fsPort}`, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))), output: () => out };
}

async function startDashboard(stack: FaultStack, env: Record<string, string> = {}): Promise<Dashboard> {
  const port = await freePort();
  const run = runDashboard(stack, { DASHBOARD_PORT: String(port), ...env });
  await until('the dashboard', async () => ((await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) || undefined), 20_000, 100).catch((err: Error) => {
    run.child.kill('SIGKILL');
    throw new Error(`${err.message}\n${run.output()}`);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    child: run.child,
    output: run.output,
    async stop() {
      run.child.kill('SIGTERM');
      return run.exited;
    },
  };
}

/** @sparticuz/chromium (a devDependency, so `npm ci` brings it), else Debian's chromium. */
async function findChromium(): Promise<{ executablePath: string; args: string[] } | string> {
  try {
    const chromium = (await import('@sparticuz/chromium')).default;
    return { executablePath: await chromium.executablePath(), args: chromium.args };
  } catch (err) {
    for (const path of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) if (existsSync(path)) return { executablePath: path, args: ['--headless=new', '--no-sandbox'] };
    return `no Chromium: @sparticuz/chromium failed (${(err as Error).message}) and /usr/bin/chromium is not installed (apt-get install chromium)`;
  }
}

describe('dashboard', { skip: !redisServerOnPath() && 'redis-server is not installed' }, () => {
  it('binding beyond loopback without a token is a config error; with one, requests without it get 401', { timeout: 60_000 }, async () => {
    const stack = new FaultStack(new Map());
    try {
      await stack.start();
      const refused = runDashboard(stack, { DASHBOARD_HOST: '0.0.0.0', DASHBOARD_PORT: String(await freePort()) });
      assert.equal(await refused.exited, 2);
      assert.match(refused.output(), /^dashboard: invalid configuration:\n {2}- DASHBOARD_HOST=0\.0\.0\.0 is reachable from other machines: set DASHBOARD_TOKEN/);

      const d = await startDashboard(stack, { DASHBOARD_HOST: '0.0.0.0', DASHBOARD_TOKEN: TOKEN });
      try {
        for (const path of ['/', '/api/cluster', '/queues', '/cluster.js', '/thumbs/x.png']) {
          const res = await fetch(d.url + path, { redirect: 'manual' });
          assert.equal(res.status, 401, path);
          assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
        }
        assert.equal((await fetch(`${d.url}/api/cluster`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status, 401);
        const ok = await fetch(`${d.url}/api/cluster`, { headers: { authorization: `Bearer ${TOKEN}` } });
        assert.equal(ok.status, 200);
        assert.equal(((await ok.json()) as { queueName: string }).queueName, stack.queueName);

        const once = await fetch(`${d.url}/?token=${TOKEN}`, { redirect: 'manual' });
        assert.equal(once.status, 303);
        assert.equal(once.headers.get('location'), '/');
        const cookie = once.headers.get('set-cookie') ?? '';
        assert.match(cookie, /HttpOnly/);
        assert.match(cookie, /SameSite=Strict/);
        const page = await fetch(`${d.url}/`, { headers: { cookie: cookie.split(';')[0]! } });
        assert.equal(page.status, 200);
        assert.match(await page.text(), /<b id="leader-id">none<\/b>/);
        assert.equal((await fetch(`${d.url}/healthz`)).status, 200);
        assert.equal((await fetch(`${d.url}/metrics`)).status, 401, 'metrics behind the token too');
        const metrics = await (await fetch(`${d.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
        assert.match(metrics, /^offer_invert_process_cpu_seconds_total\{proc="dashboard"\} /m);
      } finally {
        assert.equal(await d.stop(), 0, 'SIGTERM stops it with 0');
      }
    } finally {
      await stack.teardown();
    }
  });

  it('npm start runs the dashboard, names it in its banner and stops it; DASHBOARD_PORT=off runs none', { timeout: 120_000 }, async () => {
    const port = await freePort();
    const on = await startStack({ DASHBOARD_PORT: String(port) }, async (banner) => {
      // The banner names the queue, which is not the default here, so its commands work when copied.
      assert.match(banner, new RegExp(`^ {2}watch: +QUEUE_NAME=dash-[0-9a-f]{8} npm run status -- --watch +or open http://127\\.0\\.0\\.1:${port}/$`, 'm'));
      assert.match(banner, /^ {2}add work \(another terminal\): +QUEUE_NAME=dash-[0-9a-f]{8} (FILESERVER_URL=\S+ )?npm run enqueue images\.txt$/m);
      const s = await until('the executor on the dashboard', async () => {
        const snapshot = (await (await fetch(`http://127.0.0.1:${port}/api/cluster`)).json()) as { state: { executors: { id: string }[] } | null };
        return snapshot.state?.executors.length === 1 ? snapshot : undefined;
      }, 20_000, 200);
      assert.equal(s.state?.executors[0]?.id, 'executor-1');
    });
    assert.equal(on.code, 0, on.stderr);
    assert.match(on.stderr, /^dashboard\s*\| .*dashboard stopped/m);

    const off = await startStack({ DASHBOARD_PORT: 'off' }, async (banner) => {
      assert.match(banner, /^ {2}watch: +QUEUE_NAME=dash-[0-9a-f]{8} npm run status -- --watch$/m);
    });
    assert.equal(off.code, 0, off.stderr);
    assert.doesNotMatch(off.stderr, /process=dashboard/);
  });

  it('the cluster page in headless Chromium shows what the queue holds', { timeout: 180_000 }, async (t) => {
    const browserAt = await findChromium();
    if (typeof browserAt === 'string') return t.skip(browserAt);
    const { chromium } = await import('playwright-core');
    const stack = new FaultStack(await makeCorpus(7), '127.0.0.1', undefined, 100);
    let dashboard: Dashboard | undefined;
    const browser = await chromium.launch({ executablePath: browserAt.executablePath, args: browserAt.args, headless: true });
    try {
      await stack.start();
      stack.startFileserver();
      stack.startScheduler('scheduler-1');
      for (const name of ['executor-1', 'executor-2']) stack.startExecutor(name, { env: { EXECUTOR_CPUS: '1' } });
      await stack.ready();
      dashboard = await startDashboard(stack);
      const last = `src-0006.png`;
      const first = [...stack.images.keys()].filter((n) => n !== last);
      const { enqueueUrls } = await import('../client/enqueue-urls.js');
      const { JOB_POLICY } = await import('./faults/fault-stack.js');
      await enqueueUrls(stack.queue, first.map((n) => ({ url: stack.sourceUrl(n) })), JOB_POLICY);
      await until('6 completed', async () => ((await stack.counts()).completed === 6 ? true : undefined), 60_000, 200);
      await until('both executors published', async () => {
        const s = (await (await fetch(`${dashboard!.url}/api/cluster`)).json()) as { state: { executors: unknown[]; recent: unknown[] } | null };
        return s.state && s.state.executors.length === 2 && s.state.recent.length >= 6 ? true : undefined;
      }, 20_000, 200);

      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
      // The page's CSP forbids eval, so functions run there must be real functions, and helpers they
      // use must exist in the page: pageDocument is defined there before any page script runs.
      await page.addInitScript(() => Object.assign(globalThis, { pageDocument: () => (globalThis as unknown as { document: PageDocument }).document }));
      await page.goto(`${dashboard.url}/`);
      const ids = await page.locator('.executor-id').allTextContents();
      assert.deepEqual(ids.sort(), ['executor-1', 'executor-2']);
      const counts = await stack.queue.getJobCounts('completed', 'failed');
      assert.equal(await page.locator('#count-completed').textContent(), String(counts.completed));
      assert.equal(await page.locator('#count-failed').textContent(), String(counts.failed));
      assert.match((await page.locator('#leader-id').textContent()) ?? '', /^scheduler-1$/);
      await page.waitForFunction(() => {
        const imgs = Array.from(pageDocument().querySelectorAll('img.thumb'));
        return imgs.length >= 6 && imgs.every((i) => i.complete && i.naturalWidth > 0);
      }, undefined, { timeout: 20_000 });

      // The page refreshes itself from /api/cluster: one more image shows up without a reload.
      await enqueueUrls(stack.queue, [{ url: stack.sourceUrl(last) }], JOB_POLICY);
      await page.waitForFunction(() => pageDocument().getElementById('count-completed')?.textContent === '7', undefined, { timeout: 30_000 });
      await page.waitForFunction(() => Array.from(pageDocument().querySelectorAll('img.thumb')).some((i) => i.alt.startsWith('src-0006-') && i.complete && i.naturalWidth > 0), undefined, { timeout: 20_000 });
      assert.deepEqual(errors, []);

      // One fixed place, overwritten by each run, so runs do not pile up screenshots.
      const shots = join(tmpdir(), 'offer-invert-dashboard-test');
      await mkdir(shots, { recursive: true });
      const shot = join(shots, 'cluster.png');
      await page.screenshot({ path: shot, fullPage: true });
      t.diagnostic(`screenshot: ${shot}`);

      const boardPage = await page.goto(`${dashboard.url}/queues`);
      assert.equal(boardPage?.headers()['content-security-policy'], BOARD_CSP);
      await page.getByText(stack.queueName).first().waitFor({ timeout: 20_000 });
      await page.waitForLoadState('networkidle');
      // bull-board renders under its CSP: nothing refused but the web font it links from Google.
      assert.deepEqual(errors.filter((e) => !/fonts\.googleapis\.com/.test(e)), []);
      const api = await fetch(`${dashboard.url}/queues/api/queues`);
      assert.equal(api.headers.get('content-security-policy'), BOARD_CSP);
      await page.screenshot({ path: join(shots, 'queues.png') });
      // bull-board's own API, which its page reads: the same queue, the same count.
      const board = (await (await fetch(`${dashboard.url}/queues/api/queues`)).json()) as { queues: { name: string; counts: Record<string, number> }[] };
      assert.deepEqual(board.queues.map((q) => [q.name, q.counts.completed]), [[stack.queueName, 7]]);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${stack.tail(6)}\n--- dashboard\n${dashboard?.output() ?? ''}`, { cause: err });
    } finally {
      await browser.close();
      if (dashboard) assert.equal(await dashboard.stop(), 0);
      await stack.teardown();
    }
  });
});
