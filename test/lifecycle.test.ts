/**
 * Task lifecycles that take time, over real Redis and HTTP: a task longer than the job lock
 * (the scheduler must keep extending it), and an executor stopped mid-task (it must finish).
 */
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Job } from 'bullmq';
import sharp from 'sharp';
import { enqueueUrls } from '../client/enqueue-urls.js';
import { watchJobs } from '../client/watch-jobs.js';
import { DEFAULT_JOB_POLICY, type ImageJobData, type ImageJobResult } from '../common/queue.js';
import { startPipeline } from './helpers/pipeline.js';
import { slowImageServer } from './helpers/slow-server.js';

async function image(dir: string): Promise<void> {
  await writeFile(join(dir, 'slow.png'), await sharp({ create: { width: 8, height: 8, channels: 3, background: '#00ff00' } }).png().toBuffer());
}

describe('lifecycle', () => {
  it('a task that outlives the lock duration keeps its job: the lock is extended, no second run', { timeout: 30_000 }, async (t) => {
    const p = await startPipeline({ executors: 1, schedulerEnv: { LOCK_DURATION_MS: '1000', STALLED_INTERVAL_MS: '1000', LEASE_TTL_MS: '500' } });
    const slow = await slowImageServer(p.imagesDir, 3500);
    t.after(async () => {
      await slow.close();
      await p.stop();
    });
    await image(p.imagesDir);
    const [job] = await enqueueUrls(p.queue, [{ url: `${slow.url}slow.png` }], DEFAULT_JOB_POLICY);
    const outcome = await watchJobs(p.queue, p.events, [String(job!.id)], { reconcileEveryMs: 200 });
    assert.equal(outcome.completed.length, 1, JSON.stringify(outcome.failed));
    const stored = await Job.fromId<ImageJobData, ImageJobResult>(p.queue, String(job!.id));
    assert.equal(stored?.attemptsMade, 1, 'completed on its first attempt');
    assert.equal(stored?.stalledCounter ?? 0, 0, 'never seen as stalled');
  });

  it('an executor told to stop mid-task finishes the task before it leaves', { timeout: 60_000 }, async (t) => {
    const p = await startPipeline({ executors: 1 });
    const slow = await slowImageServer(p.imagesDir, 1500);
    t.after(async () => {
      await slow.close();
      await p.stop();
    });
    await image(p.imagesDir);
    const [job] = await enqueueUrls(p.queue, [{ url: `${slow.url}slow.png` }], DEFAULT_JOB_POLICY);
    for (let i = 0; i < 100 && (await p.queue.getJobState(String(job!.id))) !== 'active'; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300)); // launched, download under way
    assert.equal(p.executors[0]?.executor.runningTasks, 1);
    await p.executors[0]!.close();
    assert.equal(await p.queue.getJobState(String(job!.id)), 'completed');
    assert.equal((await readdir(p.uploadDir)).filter((f) => !f.startsWith('.')).length, 1);
  });
});
