/**
 * Reference run (d), the transport floor, started by the benchmark as its own process: the
 * executors' download, invert and upload with no queue and no scheduler, `CONCURRENCY` images
 * at a time over keep-alive connections to the fileserver. What the pipeline would cost if
 * scheduling were free. Env: CONCURRENCY and the executor settings (see image-task.ts).
 */
import { createLogger } from '../common/log.js';
import { notifyReady, onShutdownSignal } from '../common/shutdown.js';
import { createImageTask, failureText, type ImageTask, type ImageTaskInput } from './image-task.js';
import { isFloorRun, type FloorResult } from './reference-messages.js';

const log = createLogger({ proc: 'transport-floor' });
const concurrency = Number(process.env.CONCURRENCY);
if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
  process.stderr.write(`transport-floor: CONCURRENCY=${JSON.stringify(process.env.CONCURRENCY)} is not a positive whole number\n`);
  process.exit(2);
}
const task = createImageTask('transport-floor', process.env);

async function runAll(jobs: readonly ImageTaskInput[], run: ImageTask): Promise<FloorResult> {
  const latenciesMs: number[] = [];
  const failed: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let job = jobs[next++]; job !== undefined; job = jobs[next++]) {
        try {
          latenciesMs.push((await run(job)).durationMs);
        } catch (err) {
          failed.push(failureText(job.url, err));
        }
      }
    }),
  );
  return { type: 'result', latenciesMs, failed };
}

process.on('message', (message) => {
  if (!isFloorRun(message)) return log.warn('ignoring an unknown message from the harness');
  runAll(message.jobs, task).then(
    (result) => process.send?.(result),
    (err: unknown) => log.error('run failed', { err }),
  );
});
onShutdownSignal(log, async () => undefined);
// The harness is gone (killed before it could stop us): do not linger.
process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
notifyReady();
