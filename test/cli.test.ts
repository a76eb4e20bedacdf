/**
 * The README's commands as a user runs them: real processes, real Redis, real HTTP.
 * `batch` inverts a list and exits 1 when an image failed; `start` shuts down cleanly on SIGTERM
 * and restarts a process killed under it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { keysFor } from '../common/keys.js';
import { freePort } from '../stack/free-port.js';
import { until } from './faults/fault-stack.js';
import { logfmtText } from './helpers/log-lines.js';
import { isRunning } from './helpers/processes.js';
import { freshQueueName, testRedisUrl } from './helpers/redis.js';

const cli = (name: string) => fileURLToPath(new URL(`../cli/${name}.js`, import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

type Watcher = (text: string, kill: () => void) => void;

function run(script: string, args: string[], env: Record<string, string>, onStdout?: Watcher, onStderr?: Watcher): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const guard = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      onStdout?.(stdout, () => child.kill('SIGTERM'));
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(logfmtText(stderr), () => child.kill('SIGTERM'));
    });
    child.on('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr: logfmtText(stderr) });
    });
  });
}

async function workspace() {
  const root = await mkdtemp(join(tmpdir(), 'cli-test-'));
  const images = join(root, 'images');
  const uploads = join(root, 'uploads');
  await import('node:fs/promises').then((fs) => fs.mkdir(images));
  await writeFile(join(images, 'red.png'), await sharp({ create: { width: 20, height: 10, channels: 3, background: '#ff0000' } }).png().toBuffer());
  await writeFile(join(images, 'grey.jpg'), await sharp({ create: { width: 20, height: 10, channels: 3, background: '#404040' } }).jpeg().toBuffer());
  return { root, images, uploads };
}

describe('command line', () => {
  it('batch inverts every listed image into UPLOAD_DIR, reports a 404 and exits 1', async (t) => {
    const w = await workspace();
    t.after(() => rm(w.root, { recursive: true, force: true }));
    const list = join(w.root, 'images.txt');
    await writeFile(list, '# test list\nred.png\n\ngrey.jpg\nmissing.png\nnot a url\n');
    const env = { REDIS_URL: await testRedisUrl(), QUEUE_NAME: freshQueueName('cli'), IMAGES_DIR: w.images, UPLOAD_DIR: w.uploads, EXECUTORS: '2' };
    const result = await run(cli('batch'), [list], env);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stderr, /images\.txt:6: .*not a url/);
    assert.match(result.stdout, /inverted 2 of 3 images/);
    assert.match(result.stdout, /FAIL\s+http:\/\/127\.0\.0\.1:\d+\/images\/missing\.png\n\s+DOWNLOAD_NOT_FOUND/);
    const files = (await readdir(w.uploads)).filter((f) => !f.startsWith('.') && f !== 'manifest.json').sort();
    assert.equal(files.length, 2);
    assert.match(result.stdout, /manifest \(every URL -> output or failure\): .*manifest\.json/);
    const manifest = JSON.parse(await readFile(join(w.uploads, 'manifest.json'), 'utf8')) as {
      total: number;
      entries: { url: string; line: number; status: string; output?: string; reason?: string; attempt?: string }[];
    };
    assert.equal(manifest.total, 3);
    assert.deepEqual(
      manifest.entries.map((e) => [e.line, e.url.replace(/:\d+\//, ':P/'), e.status]),
      [
        [2, 'http://127.0.0.1:P/images/red.png', 'ok'],
        [4, 'http://127.0.0.1:P/images/grey.jpg', 'ok'],
        [5, 'http://127.0.0.1:P/images/missing.png', 'failed'],
      ],
    );
    assert.deepEqual(manifest.entries.slice(0, 2).map((e) => e.output).sort(), files);
    assert.match(manifest.entries[2]!.reason!, /^DOWNLOAD_NOT_FOUND/);
    assert.match(manifest.entries[2]!.attempt!, /^1\/\d+$/, 'a 404 fails at once: attempt 1 of the budget');
    assert.match(files[0]!, /^grey-[0-9a-f]{12}\.jpg$/);
    assert.match(files[1]!, /^red-[0-9a-f]{12}\.png$/);
    const { data } = await sharp(join(w.uploads, files[1]!)).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([...data.subarray(0, 3)], [0, 255, 255], 'red came out cyan');
  });

  it('batch exits 0 when every image is inverted', async (t) => {
    const w = await workspace();
    t.after(() => rm(w.root, { recursive: true, force: true }));
    const list = join(w.root, 'images.txt');
    await writeFile(list, 'red.png\ngrey.jpg\n');
    const env = { REDIS_URL: await testRedisUrl(), QUEUE_NAME: freshQueueName('cli'), IMAGES_DIR: w.images, UPLOAD_DIR: w.uploads, EXECUTORS: '1' };
    const result = await run(cli('batch'), [list], env);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /inverted 2 of 2 images/);
  });

  it('batch goes on when an executor is killed mid-batch: it is restarted and its tasks retried', async (t) => {
    const w = await workspace();
    t.after(() => rm(w.root, { recursive: true, force: true }));
    // Sources answer slowly, so the first request means a task is running on the executor.
    let firstRequest: () => void = () => undefined;
    const requested = new Promise<void>((resolve) => (firstRequest = resolve));
    const red = await readFile(join(w.images, 'red.png'));
    const server = createServer((_req, res) => {
      firstRequest();
      setTimeout(() => res.writeHead(200, { 'content-type': 'image/png', 'content-length': red.length }).end(red), 1500);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => server.close(() => r())));
    const address = server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const list = join(w.root, 'images.txt');
    await writeFile(list, [1, 2, 3].map((n) => `${base}/red-${n}.png`).join('\n') + '\n');
    const env = {
      REDIS_URL: await testRedisUrl(),
      QUEUE_NAME: freshQueueName('cli'),
      IMAGES_DIR: w.images,
      UPLOAD_DIR: w.uploads,
      EXECUTORS: '1',
      LOG_LEVEL: 'info',
      ALLOW_PRIVATE_NETWORKS: 'true',
    };
    let killedPid: number | undefined;
    const result = await run(cli('batch'), [list], env, undefined, (stderr) => {
      const started = /process started proc=batch process=executor-1 pid=(\d+)/.exec(stderr);
      if (killedPid === undefined && started) {
        killedPid = Number(started[1]);
        void requested.then(() => process.kill(Number(started[1]), 'SIGKILL'));
      }
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /inverted 3 of 3 images/);
    assert.match(result.stderr, new RegExp(`process exited unexpectedly; restarting it proc=batch process=executor-1 pid=${killedPid} signal=SIGKILL`));
    assert.match(result.stderr, /process restarted proc=batch process=executor-1/);
    assert.match(result.stderr, /EXECUTOR_LOST/, 'the tasks it ran were lost and retried');
  });

  it('batch refuses a queue a running scheduler already serves (its executors would take the jobs) and adds nothing', async (t) => {
    const w = await workspace();
    t.after(() => rm(w.root, { recursive: true, force: true }));
    const redisUrl = await testRedisUrl();
    const queueName = freshQueueName('cli');
    const redis = new Redis(redisUrl);
    t.after(() => void redis.disconnect());
    await redis.set(keysFor(queueName).leader, 'scheduler-elsewhere 7', 'PX', 60_000);
    const list = join(w.root, 'list.txt');
    await writeFile(list, 'red.png\n');
    const result = await run(cli('batch'), [list], { REDIS_URL: redisUrl, QUEUE_NAME: queueName, IMAGES_DIR: w.images, UPLOAD_DIR: w.uploads, PORT: '0' });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, new RegExp(`queue "${queueName}" is already served by a running scheduler \\(scheduler-elsewhere;`));
    assert.match(result.stderr, /QUEUE_NAME=batch-1 npm run batch/);
    assert.equal(await redis.exists(`bull:${queueName}:id`), 0, 'no job was added');
  });

  it('start brings the stack up and stops every process cleanly on SIGTERM', async (t) => {
    const w = await workspace();
    t.after(() => rm(w.root, { recursive: true, force: true }));
    const env = { REDIS_URL: await testRedisUrl(), QUEUE_NAME: freshQueueName('cli'), IMAGES_DIR: w.images, UPLOAD_DIR: w.uploads, PORT: '0', METRICS_PORT: '0', EXECUTORS: '2', LOG_LEVEL: 'info' };
    let signalled = false;
    const result = await run(cli('start'), [], env, (text, kill) => {
      if (!signalled && text.includes('pipeline is up')) {
        signalled = true;
        setTimeout(kill, 500);
      }
    });
    assert.ok(signalled, result.stdout + result.stderr);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /metrics \(Prometheus\): +scheduler http:\/\/127\.0\.0\.1:\d+\/metrics, fileserver http:\/\/127\.0\.0\.1:\d+\/metrics, executor-1 .*, executor-2 /, 'the banner lists every metrics URL');
    for (const name of ['fileserver', 'scheduler', 'executor-1', 'executor-2']) {
      assert.match(result.stderr, new RegExp(`${name}\\s*\\| .*(stopped)`), `${name} stopped cleanly`);
    }
    assert.doesNotMatch(result.stderr, /exited unexpectedly|ERROR/);
  });

  it('start restarts an executor killed with SIGKILL under its id, then stops every process cleanly on SIGTERM', async (t) => {
    const w = await workspace();
    t.after(() => rm(w.root, { recursive: true, force: true }));
    const env = { REDIS_URL: await testRedisUrl(), QUEUE_NAME: freshQueueName('cli'), IMAGES_DIR: w.images, UPLOAD_DIR: w.uploads, PORT: '0', METRICS_PORT: '0', EXECUTORS: '2', LOG_LEVEL: 'info' };
    // Each step waits for the output it needs: the stack up, then the pid from the launcher's log,
    // then executor-1 registered a second time.
    let up = false;
    let stderr = '';
    let killedPid: number | undefined;
    let signalled = false;
    const step = (kill: () => void) => {
      const started = /process started proc=start process=executor-1 pid=(\d+)/.exec(stderr);
      if (up && killedPid === undefined && started) {
        killedPid = Number(started[1]);
        process.kill(killedPid, 'SIGKILL');
      }
      const registrations = stderr.match(/^executor-1\s*\| .*executor registered/gm)?.length ?? 0;
      if (!signalled && killedPid !== undefined && registrations >= 2) {
        signalled = true;
        kill();
      }
    };
    const result = await run(
      cli('start'),
      [],
      env,
      (text, kill) => {
        up = text.includes('pipeline is up');
        step(kill);
      },
      (text, kill) => {
        stderr = text;
        step(kill);
      },
    );
    assert.ok(signalled, result.stdout + result.stderr);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`WARN  process exited unexpectedly; restarting it proc=start process=executor-1 pid=${killedPid} signal=SIGKILL upMs=\\d+ delayMs=1000`));
    const restarted = /INFO  process restarted proc=start process=executor-1 pid=(\d+) restarts=1/.exec(result.stderr);
    assert.ok(restarted, result.stderr);
    assert.notEqual(Number(restarted[1]), killedPid);
    assert.match(result.stderr, /executor-1\s*\| .*executor registered proc=executor-1 executor=executor-1/);
    for (const name of ['fileserver', 'scheduler', 'executor-1', 'executor-2']) {
      assert.match(result.stderr, new RegExp(`${name}\\s*\\| .*(stopped)`), `${name} stopped cleanly`);
    }
    assert.doesNotMatch(result.stderr, /ERROR/);
    for (const pid of [...result.stderr.matchAll(/process (?:started|restarted) .*pid=(\d+)/g)].map((m) => Number(m[1]))) {
      assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `pid ${pid} is gone`);
    }
  });
  it('start killed with SIGKILL leaves no orphan: every child notices its launcher is gone and stops', async (t) => {
    const w = await workspace();
    t.after(() => rm(w.root, { recursive: true, force: true }));
    const env = { REDIS_URL: await testRedisUrl(), QUEUE_NAME: freshQueueName('cli'), IMAGES_DIR: w.images, UPLOAD_DIR: w.uploads, PORT: '0', METRICS_PORT: '0', DASHBOARD_PORT: String(await freePort()), EXECUTORS: '2', LOG_LEVEL: 'info' };
    const start = spawn(process.execPath, [cli('start')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    start.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    start.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise((resolve) => start.on('exit', resolve));
    t.after(() => void start.kill('SIGKILL'));
    await until('the stack up', () => stdout.includes('pipeline is up') || undefined, 60_000);
    const pids = [...logfmtText(stderr).matchAll(/process started .*pid=(\d+)/g)].map((m) => Number(m[1]));
    assert.ok(pids.length >= 4, logfmtText(stderr));
    start.kill('SIGKILL');
    await exited;
    try {
      await until('every child gone', () => pids.every((pid) => !isRunning(pid)) || undefined, 60_000, 200);
    } finally {
      for (const pid of pids.filter(isRunning)) process.kill(pid, 'SIGKILL');
    }
  });
});
