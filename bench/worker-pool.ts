/**
 * Reference run (c), started by the benchmark as its own process: what a user would write
 * instead of the pipeline. One BullMQ Worker, `concurrency` jobs at a time, whose processor is
 * the executors' download, invert and upload. The harness enqueues and waits for the jobs as
 * it does for the pipeline run. Env: REDIS_URL, QUEUE_NAME, CONCURRENCY and the executor
 * settings (see image-task.ts).
 */
import { UnrecoverableError, Worker } from 'bullmq';
import { retryKind, PipelineError } from '../common/errors.js';
import { createLogger } from '../common/log.js';
import type { ImageJobData } from '../common/queue.js';
import { bullOptions, createRedis } from '../common/redis.js';
import { notifyReady, onShutdownSignal } from '../common/shutdown.js';
import type { ImageTaskResult } from './image-task.js';
import { createUserImageTask } from './user-image-task.js';
import { DEFAULT_REDIS_URL } from '../common/defaults.js';

const log = createLogger({ proc: 'worker-pool' });
const concurrency = Number(process.env.CONCURRENCY);
const queueName = process.env.QUEUE_NAME;
if (!Number.isSafeInteger(concurrency) || concurrency < 1 || queueName === undefined || queueName === '') {
  process.stderr.write('worker-pool: set QUEUE_NAME and CONCURRENCY (a positive whole number)\n');
  process.exit(2);
}
const task = createUserImageTask('worker-pool', process.env);
const connection = createRedis(process.env.REDIS_URL ?? DEFAULT_REDIS_URL, log, 'bench-worker-pool');

const worker = new Worker<ImageJobData, ImageTaskResult>(
  queueName,
  async (job) => {
    try {
      return await task(job.data);
    } catch (err) {
      if (!(err instanceof PipelineError)) throw err;
      // As the pipeline does: a failure no retry can fix fails the job at once, not after backoff.
      const message = `${err.code}: ${err.message}`;
      throw retryKind(err.code) === 'never' ? new UnrecoverableError(message) : new Error(message);
    }
  },
  { ...bullOptions(connection, queueName), concurrency },
);
worker.on('error', (err) => log.warn('worker error', { err }));

onShutdownSignal(log, async () => {
  await worker.close();
  connection.disconnect();
});
// The harness is gone (killed before it could stop us): do not linger.
process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
await worker.waitUntilReady();
notifyReady();
