/**
 * What happens when things break, over real Redis and HTTP: an executor that vanishes with a
 * task, a malformed message on the wire, and Redis itself restarting under the pipeline.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from "node:test";
import { Job } from 'bullmq';
import sharp from 'sharp';
import { enqueueUrls } from '../client/enqueue-urls.js';
import { watchJobs } from '../client/watch-jobs.js';
import { DEFAULT_JOB_POLICY, type ImageJobData, type ImageJobResult } from '../common/queue.js';
import { decodeCall, encodeEvent } from '../protocol/codec.js';
import { keysFor } from '../common/keys.js';
import type { ExecutorEvent } from '../protocol/types.js';
import { startPrivateRedis, redisServerOnPath } from '../stack/private-redis.js';
import { startPipeline } from './helpers/pipeline.js';
import { redisAnswers } from '../common/redis.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
const resources = { cpus: 1, memMb: 1024, ports: [] };

const policy = { ...DEFAULT_JOB_POLICY, backoffMs: 100 };

async function sampleImage(dir: string, name: string): Promise<void> {
  await writeFile(join(dir, name), await sharp({ create: { width: 16, height: 16, channels: 3, background: '#204060' } }).png().toBuffer());
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('failures', () => {
  it('a task on an executor that stops heartbeating is LOST and its job completes on another executor', { timeout: 60_000 }, async (t) => {
    const p = await startPipeline({ executors: 0 });
    t.after(() => p.stop());
    await sampleImage(p.imagesDir, 'a.png');
    const names = keysFor(p.queueName);
    // A "ghost" executor speaking the real protocol: registers, offers, takes a launch, then goes silent.
    const ghost = (e: DistributiveOmit<ExecutorEvent, 'executorId' | 'sentAtMs' | 'bootId'>) =>
      p.redis.xadd(names.schedulerInbox, '*', 'm', encodeEvent({ ...e, executorId: 'ghost', sentAtMs: Date.now(), bootId: 'g' } as ExecutorEvent));
    // It heartbeats once, so the leader has a sequence to watch stop moving.
    await p.redis.sadd(names.executors, 'ghost');
    await p.redis.set(names.executorAlive('ghost'), 'g:1');
    const [job] = await enqueueUrls(p.queue, [{ url: `${p.fileserverUrl}/images/a.png` }], policy);
    await ghost({ kind: 'register', hostname: 'ghost-host', resources, running: [], pid: 1, advertiseHost: '' });
    await ghost({ kind: 'offer', offer: { id: 'ghost-offer-1', executorId: 'ghost', hostname: 'ghost-host', resources, ttlMs: 60_000, advertiseHost: '' } });
    const launch = await until('a launch to the ghost', async () => {
      const entries = await p.redis.xrangeBuffer(names.executorInbox('ghost'), '-', '+');
      const calls = entries.map(([, fields]) => decodeCall(fields[1]!).call);
      return calls.find((c) => c.kind === 'launch');
    });
    assert.equal(launch.kind === 'launch' && launch.tasks[0]?.images[0]?.jobId, job!.id);

    await p.startExecutor('survivor');
    const outcome = await watchJobs(p.queue, p.events, [String(job!.id)], { reconcileEveryMs: 200 });
    assert.equal(outcome.completed.length, 1, JSON.stringify(outcome.failed));
    assert.equal(outcome.completed[0]?.result.executorId, 'survivor');
    const stored = await Job.fromId<ImageJobData, ImageJobResult>(p.queue, String(job!.id));
    assert.equal(stored?.attemptsMade, 2, 'the lost attempt counted, the retry completed');
  });

  it('a malformed message is dropped and the pipeline keeps working', { timeout: 60_000 }, async (t) => {
    const p = await startPipeline({ executors: 1 });
    t.after(() => p.stop());
    await sampleImage(p.imagesDir, 'b.png');
    const names = keysFor(p.queueName);
    await p.redis.xadd(names.schedulerInbox, '*', 'm', Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x08]));
    await p.redis.xadd(names.schedulerInbox, '*', 'not-m', 'x');
    await p.redis.xadd(names.executorInbox('exec-1'), '*', 'm', Buffer.from('garbage'));
    const jobs = await enqueueUrls(p.queue, [{ url: `${p.fileserverUrl}/images/b.png` }], policy);
    const outcome = await watchJobs(p.queue, p.events, jobs.map((j) => String(j.id)), { reconcileEveryMs: 200 });
    assert.equal(outcome.completed.length, 1);
    // Entries are acknowledged after handling: wait for the last batch, then nothing may be left.
    await until('an empty pending list', async () => {
      const [count] = (await p.redis.xpending(names.schedulerInbox, 'scheduler')) as [number, ...unknown[]];
      return count === 0 ? true : undefined;
    });
  });

  it('survives Redis restarting underneath it', { timeout: 60_000, skip: !redisServerOnPath() && 'redis-server is not installed' }, async (t) => {
    let redis = await startPrivateRedis();
    const port = Number(new URL(redis.url).port);
    const p = await startPipeline({ executors: 1, redisUrl: redis.url, executorEnv: { OFFER_TTL_MS: '1000' } });
    t.after(async () => {
      await p.stop();
      await redis.stop();
    });
    await sampleImage(p.imagesDir, 'c.png');
    const first = await enqueueUrls(p.queue, [{ url: `${p.fileserverUrl}/images/c.png` }], policy);
    assert.equal((await watchJobs(p.queue, p.events, first.map((j) => String(j.id)), { reconcileEveryMs: 200 })).completed.length, 1);

    // A restart without persistence: streams, groups and queue are gone; clients reconnect.
    await redis.stop();
    redis = await startPrivateRedis({ port });
    await until('redis back', async () => ((await redisAnswers(redis.url)) ? true : undefined));
    const again = await until('enqueue after restart', async () =>
      enqueueUrls(p.queue, [{ url: `${p.fileserverUrl}/images/c.png?again` }], policy).catch(() => undefined),
    );
    const outcome = await watchJobs(p.queue, p.events, again.map((j) => String(j.id)), { reconcileEveryMs: 200 });
    assert.equal(outcome.completed.length, 1, JSON.stringify(outcome.failed));
  });
});

