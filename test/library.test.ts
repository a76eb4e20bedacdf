/**
 * The library (lib/): result mapping as a table, then createClient against the real in-process
 * pipeline (real Redis, fileserver, scheduler, executor): enqueue with bad and duplicate URLs,
 * results as they finish, dedup on a second enqueue, a failure's code, counts, cancel, timeout.
 */
import assert from 'node:assert/strict';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { createClient, WaitTimeoutError, type OfferInvertClient } from '../lib/index.js';
import { errorOf, toJobResult } from '../lib/job-result.js';
import { startPipeline, type Pipeline } from './helpers/pipeline.js';

const IMAGES = fileURLToPath(new URL('../../images/', import.meta.url));

describe('job results', () => {
  it('maps a finished job to a result', () => {
    const cases: [Parameters<typeof toJobResult>, ReturnType<typeof toJobResult>][] = [
      [['a', 'u', 'completed', { data: { url: 'u' }, returnvalue: { name: 'x.png' }, attemptsMade: 1 }], { id: 'a', url: 'u', state: 'completed', output: 'x.png', attempts: 1 }],
      [['a', 'u', 'failed', { data: { url: 'u' }, failedReason: 'DOWNLOAD_NOT_FOUND: 404 from host', attemptsMade: 1 }], { id: 'a', url: 'u', state: 'failed', error: { code: 'DOWNLOAD_NOT_FOUND', message: '404 from host' }, attempts: 1 }],
      [['a', 'u', 'failed', { failedReason: 'boom', attemptsMade: 3 }], { id: 'a', url: 'u', state: 'failed', error: { code: 'UNKNOWN', message: 'boom' }, attempts: 3 }],
      [['a', 'u', 'unknown', undefined], { id: 'a', url: 'u', state: 'failed', error: { code: 'REMOVED', message: 'the job was removed from the queue before it finished' }, attempts: 0 }],
    ];
    for (const [args, want] of cases) assert.deepEqual(toJobResult(...args), want);
    assert.deepEqual(errorOf(undefined), { code: 'UNKNOWN', message: 'failed without a reason' });
  });
});

describe('createClient against a running pipeline', () => {
  let p: Pipeline;
  let client: OfferInvertClient;
  before(async () => {
    p = await startPipeline({ executors: 1 });
    await copyFile(join(IMAGES, 'moon.png'), join(p.imagesDir, 'moon.png'));
    await copyFile(join(IMAGES, 'badge.png'), join(p.imagesDir, 'badge.png'));
    client = createClient({ redisUrl: p.redisUrl, queueName: p.queueName, imagesBaseUrl: `${p.fileserverUrl}/images/` });
  });
  after(async () => {
    await client?.close();
    await p?.stop();
  });

  it('enqueues valid URLs once, reports bad and duplicate ones, and yields each result with its output file', async () => {
    const { jobs, rejected } = await client.enqueue(['moon.png', 'not a url', 'badge.png', `${p.fileserverUrl}/images/moon.png`, 'missing.png', '']);
    assert.deepEqual(
      jobs.map((j) => [j.index, j.url, j.existing]),
      [
        [0, `${p.fileserverUrl}/images/moon.png`, false],
        [2, `${p.fileserverUrl}/images/badge.png`, false],
        [4, `${p.fileserverUrl}/images/missing.png`, false],
      ],
    );
    assert.deepEqual(
      rejected.map((r) => [r.index, r.reason, r.duplicateOf]),
      [
        [1, 'contains whitespace (encode spaces as %20)', undefined],
        [3, 'duplicate of item 0', 0],
        [5, 'empty', undefined],
      ],
    );
    const seen: string[] = [];
    for await (const r of client.results(jobs, { timeoutMs: 60_000 })) seen.push(r.id);
    assert.deepEqual([...seen].sort(), jobs.map((j) => j.id).sort());

    let lastProgress: { total: number; completed: number; failed: number } | undefined;
    const results = await client.waitFor(jobs, { timeoutMs: 60_000, onProgress: (pr) => (lastProgress = pr) });
    assert.deepEqual(results.map((r) => [r.id, r.state]), [[jobs[0]!.id, 'completed'], [jobs[1]!.id, 'completed'], [jobs[2]!.id, 'failed']]);
    assert.deepEqual(results[2]!.error?.code, 'DOWNLOAD_NOT_FOUND');
    assert.equal(results[0]!.attempts, 1);
    assert.deepEqual(lastProgress && { total: lastProgress.total, completed: lastProgress.completed, failed: lastProgress.failed }, { total: 3, completed: 2, failed: 1 });
    // The output is the inverted image: its first pixel is 255 minus the source's.
    const source = await sharp(join(IMAGES, 'moon.png')).raw().toBuffer();
    const output = await sharp(await readFile(join(p.uploadDir, results[0]!.output!))).raw().toBuffer();
    assert.equal(output[0], 255 - source[0]!);

    const again = await client.enqueue(['moon.png']);
    assert.deepEqual(again.jobs.map((j) => [j.id, j.existing]), [[jobs[0]!.id, true]]);
    assert.equal((await client.counts()).completed, 2);
    assert.equal((await client.counts()).failed, 1);
  });

  it('times out with what finished and what did not, and cancels waiting jobs', async () => {
    await p.queue.pause();
    try {
      const { jobs } = await client.enqueue(['badge.png'], { again: true });
      const err = await client.waitFor(jobs, { timeoutMs: 300 }).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof WaitTimeoutError, String(err));
      assert.equal(err.code, 'TIMEOUT');
      assert.deepEqual(err.pending.map((j) => j.id), [jobs[0]!.id]);
      assert.equal((await client.counts()).waiting, 1);
      const cancelled = await client.cancel(jobs, { waitMs: 1000 });
      assert.deepEqual(cancelled.removed, [jobs[0]!.id]);
      const [removed] = await client.waitFor(jobs, { timeoutMs: 10_000 });
      assert.equal(removed?.error?.code, 'REMOVED');
    } finally {
      await p.queue.resume();
    }
  });

  it('aborts a wait when its signal fires', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    const err = await client.waitFor([{ id: 'url-nope', url: 'x' }], { timeoutMs: 10_000, signal: controller.signal }).then(() => undefined, (e: unknown) => e);
    assert.equal((err as { code?: string }).code, 'ABORTED');
  });
});
