/**
 * The package as a user gets it: `npm pack`, installed from the tarball into a temporary
 * project, type-checked by strict TypeScript (nodenext, skipLibCheck off), and the README's
 * example (examples/invert.mjs) run against a stack of real processes (`offer-invert start`).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { until } from './faults/fault-stack.js';
import { freshQueueName, testRedisUrl } from './helpers/redis.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const npm = (args: string[], cwd: string) => run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, maxBuffer: 16 << 20 });

const STRICT_TSCONFIG = {
  compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', skipLibCheck: false, noEmit: true, types: ['node'] },
  include: ['use.ts'],
};

// What a TypeScript user writes; `satisfies` pins the public shapes without any cast.
const USE_TS = `import { createClient, WaitTimeoutError, type JobResult, type EnqueueResult } from 'offer-invert';
const client = createClient({ queueName: 'q' });
const enqueued: EnqueueResult = await client.enqueue(['a.png']);
const results: JobResult[] = await client.waitFor(enqueued.jobs, { timeoutMs: 1000, signal: AbortSignal.timeout(5000) });
for (const r of results) {
  const output: string | undefined = r.output;
  const code: string | undefined = r.error?.code;
  const state: 'completed' | 'failed' = r.state;
  console.log(output, code, state, r.attempts);
}
for await (const r of client.results(enqueued.jobs, { timeoutMs: 1000, onProgress: (p) => console.log(p.completed, p.total) })) console.log(r.id);
const counts: { waiting: number; failed: number } = await client.counts();
const cancelled: string[] = (await client.cancel(enqueued.jobs)).removed;
console.log(counts, cancelled, new WaitTimeoutError([], [], 1).code);
// @ts-expect-error: the state is a closed union
const bad: JobResult = { id: 'x', url: 'y', state: 'running', attempts: 0 };
console.log(bad);
await client.close();
`;

describe('the packed package', () => {
  it('installs from its tarball, type-checks under strict nodenext, and the README example inverts images on a running stack', { timeout: 600_000 }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'offer-invert-pkg-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const packed = await npm(['pack', '--pack-destination', dir, '--ignore-scripts', '--json'], ROOT);
    const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
    const app = join(dir, 'app');
    await mkdir(app);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    // The dependencies come from npm's cache (or the registry); the worktree's own TypeScript type-checks.
    await npm(['install', '--prefer-offline', join(dir, filename), `@types/node@${await devVersion('@types/node')}`], app);

    // Public declarations: no `any`, and nothing reachable that a strict build cannot check.
    for (const file of await readdir(join(app, 'node_modules/offer-invert/dist/lib'))) {
      if (['index.d.ts', 'types.d.ts', 'errors.d.ts', 'create-client.d.ts'].includes(file)) {
        assert.doesNotMatch(await readFile(join(app, 'node_modules/offer-invert/dist/lib', file), 'utf8'), /\bany\b/, file);
      }
    }
    await writeFile(join(app, 'tsconfig.json'), JSON.stringify(STRICT_TSCONFIG));
    await writeFile(join(app, 'use.ts'), USE_TS);
    const tsc = await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', app]).then(
      () => '',
      (err: { stdout?: string }) => err.stdout ?? String(err),
    );
    assert.equal(tsc, '', 'strict TypeScript accepts the public types');

    const example = await readFile(join(ROOT, 'examples/invert.mjs'), 'utf8');
    assert.ok((await readFile(join(ROOT, 'README.md'), 'utf8')).includes(example.trim()), 'README shows examples/invert.mjs as it is');
    await writeFile(join(app, 'invert.mjs'), example);

    // A stack of real processes on a fresh queue, with the example's two images to serve.
    const images = join(dir, 'images');
    const uploads = join(dir, 'uploads');
    await mkdir(images);
    for (const name of ['moon.png', 'sunset.jpg']) await copyFile(join(ROOT, 'images', name), join(images, name));
    const env = { REDIS_URL: await testRedisUrl(), QUEUE_NAME: freshQueueName('pkg'), PORT: '0', METRICS_PORT: '0', DASHBOARD_PORT: 'off', IMAGES_DIR: images, UPLOAD_DIR: uploads, EXECUTORS: '1' };
    const stack = spawn(process.execPath, [join(ROOT, 'bin/offer-invert.js'), 'start'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const stopped = new Promise((resolve) => stack.on('exit', resolve));
    t.after(async () => {
      stack.kill('SIGTERM');
      await stopped;
    });
    let banner = '';
    stack.stdout.setEncoding('utf8').on('data', (s: string) => (banner += s));
    stack.stderr.resume();
    const fileserverUrl = await until('the stack up', () => /pipeline is up: fileserver (\S+),/.exec(banner)?.[1], 90_000);

    const { stdout, stderr } = await run(process.execPath, ['invert.mjs'], { cwd: app, env: { PATH: process.env.PATH ?? '', REDIS_URL: env.REDIS_URL, QUEUE_NAME: env.QUEUE_NAME, FILESERVER_URL: fileserverUrl } });
    assert.match(stderr, /^skipped not a url: contains whitespace/m);
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 2, stdout);
    for (const [i, name] of ['moon.png', 'sunset.jpg'].entries()) {
      const m = new RegExp(`^${fileserverUrl}/images/${name.replace('.', '\\.')} -> (\\S+)$`).exec(lines[i]!);
      assert.ok(m, lines[i]);
      const source = await sharp(join(images, name)).raw().toBuffer();
      const output = await sharp(join(uploads, m[1]!)).raw().toBuffer();
      // sunset.jpg goes through JPEG again, so a pixel of it is within a few levels of the exact inverse.
      assert.ok(Math.abs(output[0]! - (255 - source[0]!)) <= (name.endsWith('.jpg') ? 8 : 0), `${name} is inverted`);
    }
  });
});

async function devVersion(name: string): Promise<string> {
  const pkg = JSON.parse(await readFile(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}
