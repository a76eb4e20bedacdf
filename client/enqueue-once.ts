/**
 * Enqueues each URL once, even across runs: a job's id is derived from its normalised URL, so
 * a second run of the same list finds the jobs already there (waiting, running, done or failed
 * and kept) and adds nothing. `again` gives fresh ids for a deliberate re-run. Output names do
 * not depend on the id (they hash the URL, common/queue.ts outputStem), so a re-run overwrites.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Job, Queue } from 'bullmq';
import type { RedisClient } from '../common/redis.js';
import { JOB_NAME, jobOptions, outputStem, type ImageJobData, type JobPolicy } from '../common/queue.js';
import { DEFAULT_CHUNK_SIZE, EnqueueError } from './enqueue-urls.js';

export interface EnqueueOnceResult {
  added: Job<ImageJobData>[];
  /** Ids of jobs this list already has in the queue (in any state BullMQ still keeps). */
  existing: string[];
  /** Those of `existing` that failed for good (`retry-failed` runs them again). */
  existingFailed: string[];
}

/**
 * `url-<32 hex>` for a URL; `again` appends a unique suffix. BullMQ forbids ':' in ids and
 * integer-like custom ids, hence the prefix.
 */
export function jobIdFor(url: string, again?: { nowMs: number; nonce: string }): string {
  const id = `url-${createHash('sha256').update(url).digest('hex').slice(0, 32)}`;
  return again === undefined ? id : `${id}-${again.nowMs.toString(36)}${again.nonce}`;
}

export async function enqueueOnce(
  queue: Queue<ImageJobData>,
  /** The queue's Redis, for the existence checks. */
  client: RedisClient,
  entries: readonly { url: string }[],
  policy: JobPolicy,
  opts: { again?: boolean; chunkSize?: number } = {},
): Promise<EnqueueOnceResult> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const nowMs = Date.now();
  const result: EnqueueOnceResult = { added: [], existing: [], existingFailed: [] };
  for (let start = 0; start < entries.length; start += chunkSize) {
    const chunk = entries.slice(start, start + chunkSize).map(({ url }) => ({
      url,
      id: jobIdFor(url, opts.again === true ? { nowMs, nonce: randomBytes(3).toString('hex') } : undefined),
    }));
    try {
      // BullMQ would return the existing job for a known id without saying so: ask first
      // (and whether it failed for good, so the user hears about retry-failed).
      const pipeline = client.pipeline();
      for (const { id } of chunk) pipeline.exists(queue.toKey(id)).zscore(queue.toKey('failed'), id);
      const replies = (await pipeline.exec()) ?? [];
      const fresh: typeof chunk = [];
      chunk.forEach((entry, i) => {
        const [existsErr, count] = replies[2 * i] ?? [null, 0];
        const [failedErr, score] = replies[2 * i + 1] ?? [null, null];
        if (existsErr) throw existsErr;
        if (failedErr) throw failedErr;
        if (count === 0) fresh.push(entry);
        else {
          result.existing.push(entry.id);
          if (score !== null) result.existingFailed.push(entry.id);
        }
      });
      const jobs = await queue.addBulk(
        fresh.map(({ url, id }) => ({ name: JOB_NAME, data: { url, output: outputStem(url) }, opts: { ...jobOptions(policy), jobId: id } })),
      );
      result.added.push(...jobs);
    } catch (cause) {
      throw new EnqueueError(result.added, { cause });
    }
  }
  return result;
}
