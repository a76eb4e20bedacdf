/**
 * End to end, in one process but over real Redis and real HTTP: fileserver, scheduler and two
 * executors invert generated images; every output exists with inverted pixels, every job is
 * completed with its return value, and a 404 ends as a failed job with a clear reason.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { Job } from 'bullmq';
import { enqueueUrls } from '../client/enqueue-urls.js';
import { watchJobs } from '../client/watch-jobs.js';
import { DEFAULT_JOB_POLICY, type ImageJobData, type ImageJobResult } from '../common/queue.js';
import { startPipeline, type Pipeline } from './helpers/pipeline.js';
import { slowImageServer } from './helpers/slow-server.js';

const COLOUR = { r: 10, g: 100, b: 200 };
const INVERTED = [245, 155, 55];

async function makeImages(dir: string): Promise<string[]> {
  const base = (channels: 3 | 4) =>
    sharp({ create: { width: 48, height: 32, channels, background: channels === 4 ? { ...COLOUR, alpha: 0.5 } : COLOUR } });
  const files: [string, Promise<Buffer>][] = [
    ['flat.png', base(3).png().toBuffer()],
    ['alpha.png', base(4).png().toBuffer()],
    ['photo.jpg', base(3).jpeg({ quality: 95 }).toBuffer()],
    ['pic.webp', base(3).webp({ lossless: true }).toBuffer()],
    ['anim.gif', base(3).gif().toBuffer()],
    ['scan.tiff', base(3).tiff({ compression: 'lzw' }).toBuffer()],
  ];
  for (const [name, data] of files) await writeFile(join(dir, name), await data);
  return files.map(([name]) => name);
}

async function pixelAt(data: Buffer, x = 5, y = 5): Promise<number[]> {
  const { data: raw, info } = await sharp(data).raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [...raw.subarray(at, at + info.channels)];
}

function assertClose(actual: number[], expected: number[], tolerance: number, what: string) {
  expected.forEach((e, i) => assert.ok(Math.abs((actual[i] ?? -1) - e) <= tolerance, `${what}: channel ${i} is ${actual[i]}, expected ${e}±${tolerance}`));
}

describe('pipeline: fileserver + scheduler + two executors', () => {
  let p: Pipeline;
  let slow: { url: string; close(): Promise<void> };
  let names: string[];

  before(async () => {
    p = await startPipeline({ executors: 2 });
    names = await makeImages(p.imagesDir);
    slow = await slowImageServer(p.imagesDir, 150);
  });
  after(async () => {
    await slow.close();
    await p.stop();
  });

  it('inverts every image, completes every job, and fails the 404 with a clear reason', { timeout: 60_000 }, async () => {
    const urls = [
      ...names.map((n) => `${p.fileserverUrl}/images/${n}`),
      ...names.map((n) => `${slow.url}${n}`),
      `${p.fileserverUrl}/images/does-not-exist.png`,
    ];
    const jobs = await enqueueUrls(p.queue, urls.map((url) => ({ url })), { ...DEFAULT_JOB_POLICY, backoffMs: 100 });
    const outcome = await watchJobs(p.queue, p.events, jobs.map((j) => String(j.id)), { reconcileEveryMs: 500 });

    assert.equal(outcome.completed.length, urls.length - 1, JSON.stringify(outcome.failed));
    assert.equal(outcome.failed.length, 1);
    const failed = outcome.failed[0]!;
    assert.equal(failed.url, `${p.fileserverUrl}/images/does-not-exist.png`);
    assert.match(failed.reason, /^DOWNLOAD_NOT_FOUND: .*404/);
    assert.equal(failed.attempts, 1, 'a 404 is not retried');
    const failedJob = await Job.fromId<ImageJobData, ImageJobResult>(p.queue, failed.id);
    assert.equal(await failedJob?.getState(), 'failed');

    const files = (await readdir(p.uploadDir)).filter((f) => !f.startsWith('.'));
    assert.equal(files.length, urls.length - 1, `one output per successful job: ${files.join(', ')}`);

    const executorsUsed = new Set<string>();
    for (const { id, url, result } of outcome.completed) {
      const job = await Job.fromId<ImageJobData, ImageJobResult>(p.queue, id);
      assert.equal(await job?.getState(), 'completed');
      assert.deepEqual(job?.returnvalue, result);
      assert.equal(result.sourceUrl, url);
      assert.ok(result.name.startsWith(job!.data.output), `${result.name} is named after the job (${job!.data.output})`);
      executorsUsed.add(result.executorId);
      const source = url.split('/').pop()!;
      const expectedFormat = { png: 'png', jpg: 'jpeg', webp: 'webp', gif: 'gif', tiff: 'tiff' }[source.split('.').pop()!];
      assert.equal(result.format, expectedFormat, `${source} keeps its format`);
      assert.deepEqual([result.width, result.height], [48, 32]);

      const output = await readFile(join(p.uploadDir, result.name));
      assert.equal(output.length, result.bytes);
      assert.equal((await sharp(output).metadata()).format, expectedFormat);
      const pixel = await pixelAt(output);
      const tolerance = source.endsWith('.jpg') || source.endsWith('.webp') ? 4 : source.endsWith('.gif') ? 12 : 0;
      assertClose(pixel.slice(0, 3), INVERTED, tolerance, `${source} pixel`);
      if (source === 'alpha.png') assert.equal(pixel[3], 128, 'alpha is kept, not inverted');
    }
    assert.deepEqual([...executorsUsed].sort(), ['exec-1', 'exec-2'], 'both executors ran tasks');
  });

  it('reports progress with state and stage on the job while a long task runs', { timeout: 60_000 }, async (t) => {
    // Longer than STAGE_UPDATE_MS (500 ms): a quicker task reports nothing until it ends.
    const slower = await slowImageServer(p.imagesDir, 1500);
    t.after(() => slower.close());
    const [job] = await enqueueUrls(p.queue, [{ url: `${slower.url}${names[0]}` }], DEFAULT_JOB_POLICY);
    const seen: unknown[] = [];
    const onProgress = ({ jobId, data }: { jobId: string; data: unknown }) => jobId === job!.id && seen.push(data);
    p.events.on('progress', onProgress);
    await watchJobs(p.queue, p.events, [String(job!.id)]);
    p.events.off('progress', onProgress);
    const states = seen.map((s) => (s as { state: string }).state);
    assert.ok(states.includes('TASK_RUNNING'), `progress states: ${states.join(', ')}`);
    assert.equal((seen.find((s) => (s as { state: string }).state === 'TASK_RUNNING') as { stage: string }).stage, 'download');
  });

  it('running the same URL again replaces its output instead of adding a second file', { timeout: 60_000 }, async () => {
    const url = `${p.fileserverUrl}/images/${names[0]}`;
    const before = (await readdir(p.uploadDir)).filter((f) => !f.startsWith('.')).sort();
    const jobs = await enqueueUrls(p.queue, [{ url }], DEFAULT_JOB_POLICY);
    const outcome = await watchJobs(p.queue, p.events, jobs.map((j) => String(j.id)));
    assert.equal(outcome.completed.length, 1);
    const afterFiles = (await readdir(p.uploadDir)).filter((f) => !f.startsWith('.')).sort();
    assert.deepEqual(afterFiles, before);
  });
});
