/**
 * Adds one BullMQ job per URL. Chunked addBulk: one round trip per chunk instead of per URL,
 * without building one enormous MULTI for a very long list.
 */
import type { Job, Queue } from 'bullmq';
import { JOB_NAME, jobOptions, outputStem, type ImageJobData, type JobPolicy } from '../common/queue.js';

export const DEFAULT_CHUNK_SIZE = 500;

/** Thrown when a chunk fails after earlier chunks were added, so the caller can say how far it got. */
export class EnqueueError extends Error {
  override readonly name = 'EnqueueError';
  constructor(
    readonly added: Job<ImageJobData>[],
    options: { cause: unknown },
  ) {
    const why = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(`adding jobs failed after ${added.length} were added: ${why}`, options);
  }
}

export async function enqueueUrls(
  queue: Queue<ImageJobData>,
  entries: readonly { url: string }[],
  policy: JobPolicy,
  chunkSize = DEFAULT_CHUNK_SIZE,
): Promise<Job<ImageJobData>[]> {
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`);
  const added: Job<ImageJobData>[] = [];
  for (let start = 0; start < entries.length; start += chunkSize) {
    const chunk = entries.slice(start, start + chunkSize).map(({ url }) => ({
      name: JOB_NAME,
      data: { url, output: outputStem(url) },
      // a fresh options object per job: BullMQ may normalise opts in place
      opts: jobOptions(policy),
    }));
    try {
      added.push(...(await queue.addBulk(chunk)));
    } catch (cause) {
      throw new EnqueueError(added, { cause });
    }
  }
  return added;
}
