/**
 * Several schedulers on one queue, in-process over real Redis and HTTP: one leads, a handover
 * keeps running tasks (adopted, not run again), and a deposed leader's calls are ignored.
 * The process-level faults (kill -9, SIGSTOP, outages) are in the fault suite (test/faults/).
 */
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Job } from 'bullmq';
import sharp from 'sharp';
import { enqueueUrls } from '../client/enqueue-urls.js';
import { watchJobs } from '../client/watch-jobs.js';
import { keysFor } from '../common/keys.js';
import { DEFAULT_JOB_POLICY, type ImageJobData, type ImageJobResult } from '../common/queue.js';
import { encodeCall } from '../protocol/codec.js';
import { parseLease } from '../common/lease-holder.js';
import { startPipeline } from './helpers/pipeline.js';
import { slowImageServer } from './helpers/slow-server.js';

const policy = { ...DEFAULT_JOB_POLICY, backoffMs: 100 };

async function images(dir: string, n: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `img-${i}.png`;
    await writeFile(join(dir, name), await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: i * 7, g: 100, b: 200 } } }).png().toBuffer());
    names.push(name);
  }
  return names;
}

describe('failover', () => {
  it('two schedulers started at once: one leads, the other stands by, and every job runs once', { timeout: 60_000 }, async (t) => {
    const p = await startPipeline({ executors: 2 });
    t.after(() => p.stop());
    const second = p.startScheduler('scheduler-2');
    const names = await images(p.imagesDir, 30);
    const jobs = await enqueueUrls(p.queue, names.map((n) => ({ url: `${p.fileserverUrl}/images/${n}` })), policy);
    const outcome = await watchJobs(p.queue, p.events, jobs.map((j) => String(j.id)), { reconcileEveryMs: 200 });
    assert.equal(outcome.completed.length, 30, JSON.stringify(outcome.failed));
    assert.ok(p.scheduler.leader(), 'the first one leads');
    assert.equal(second.leader(), undefined, 'the second stands by');
    for (const job of outcome.completed) {
      const stored = await Job.fromId<ImageJobData, ImageJobResult>(p.queue, job.id);
      assert.equal(stored?.attemptsMade, 1, `job ${job.id} ran once`);
    }
    assert.equal((await readdir(p.uploadDir)).filter((f) => !f.startsWith('.')).length, 30);
  });

  it('a leader that hands over (SIGTERM) leaves running tasks to the standby, which adopts them: no second run', { timeout: 60_000 }, async (t) => {
    const p = await startPipeline({ executors: 1 });
    const slow = await slowImageServer(p.imagesDir, 2500);
    t.after(async () => {
      await slow.close();
      await p.stop();
    });
    const firstEpoch = parseLease(await p.redis.get(keysFor(p.queueName).leader))?.epoch ?? 0;
    const standby = p.startScheduler('scheduler-2');
    const names = await images(p.imagesDir, 2);
    const jobs = await enqueueUrls(p.queue, names.map((n) => ({ url: `${slow.url}${n}` })), policy);
    const ids = jobs.map((j) => String(j.id));
    for (let i = 0; i < 200 && (await p.queue.getActiveCount()) < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await p.queue.getActiveCount(), 2, 'both running');
    await p.scheduler.close(); // SIGTERM: releases the lease, kills nothing
    const successor = await standby.elected();
    const lease = parseLease(await p.redis.get(keysFor(p.queueName).leader));
    assert.equal(lease?.schedulerId, 'scheduler-2');
    assert.ok((lease?.epoch ?? 0) > firstEpoch, 'a higher epoch than the first leader\'s');
    const outcome = await watchJobs(p.queue, p.events, ids, { reconcileEveryMs: 200 });
    assert.equal(outcome.completed.length, 2, JSON.stringify(outcome.failed));
    for (const id of ids) {
      const stored = await Job.fromId<ImageJobData, ImageJobResult>(p.queue, id);
      assert.equal(stored?.attemptsMade, 1, `job ${id} ran once`);
      assert.equal(stored?.returnvalue?.executorId, 'exec-1');
    }
    assert.ok(successor.reconciler.adopted >= 1, 'the running tasks were adopted');
  });

  it('an executor drops a deposed leader\'s launch once it has seen the new epoch', { timeout: 60_000 }, async (t) => {
    const p = await startPipeline({ executors: 1 });
    t.after(() => p.stop());
    const keys = keysFor(p.queueName);
    const executor = p.executors[0]!.executor;
    for (let i = 0; i < 100 && executor.epoch === 0; i++) await new Promise((r) => setTimeout(r, 20));
    const epoch = parseLease(await p.redis.get(keys.leader))?.epoch;
    assert.equal(executor.epoch, epoch, 'the executor knows the leader\'s epoch');
    const stale = encodeCall(
      { kind: 'launch', offerId: 'whatever', tasks: [{ taskId: 'ghost', name: '', executorId: 'exec-1', resources: { cpus: 0.5, memMb: 1, ports: [] }, images: [{ token: 'ghost', jobId: 'nope', sourceUrl: 'http://127.0.0.1:1/x.png', outputName: 'x', attempt: 1 }] }] },
      { epoch: 0, schedulerId: 'deposed' },
    );
    await p.redis.xadd(keys.executorInbox('exec-1'), '*', 'm', stale);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(executor.runningTasks, 0, 'nothing launched');
  });
});
