/**
 * `npm run batch -- images.txt`: one shot. Brings the stack up, enqueues the file, shows live
 * progress until every job is completed or failed, prints a summary, shuts down. Exits 1 if
 * any image failed, 2 on a usage or set-up error.
 */
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { ConfigError } from '../common/config.js';
import { createLogger } from '../common/log.js';
import type { ImageJobData, ImageJobResult } from '../common/queue.js';
import { createRedis } from '../common/redis.js';
import { enqueueUrls } from '../client/enqueue-urls.js';
import { parseUrlList } from '../client/parse-url-list.js';
import { watchJobs, type BatchOutcome, type BatchProgress } from '../client/watch-jobs.js';
import { freePort, portIsFree } from '../stack/free-port.js';
import { launchStack, StackError, type RunningStack } from '../stack/launch-stack.js';
import { loadStackConfig } from '../stack/stack-config.js';

const log = createLogger({ proc: 'batch' }, process.env.LOG_LEVEL === undefined ? 'warn' : undefined);

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

function renderProgress(p: BatchProgress): string {
  const waiting = p.total - p.completed - p.failed - p.active;
  const rate = p.elapsedMs > 0 ? ((p.completed + p.failed) / (p.elapsedMs / 1000)).toFixed(1) : '0';
  return `${p.completed + p.failed}/${p.total} done (${p.completed} ok, ${p.failed} failed), ${p.active} running, ${waiting} waiting, ${rate} images/s`;
}

function printSummary(outcome: BatchOutcome, uploadDir: string): void {
  const seconds = outcome.elapsedMs / 1000;
  const total = outcome.completed.length + outcome.failed.length;
  const dir = relative(process.cwd(), uploadDir) || '.';
  console.log(`\ninverted ${outcome.completed.length} of ${total} images in ${seconds.toFixed(1)} s -> ${dir}/`);
  const shown = outcome.completed.slice(0, 20);
  for (const { url, result } of shown) {
    console.log(`  ok    ${result.name}  (${result.width}x${result.height} ${result.format}, ${result.bytes} bytes, ${result.durationMs} ms)  <- ${url}`);
  }
  if (outcome.completed.length > shown.length) console.log(`  ...and ${outcome.completed.length - shown.length} more in ${dir}/`);
  for (const { url, reason, attempts } of outcome.failed) {
    console.log(`  FAIL  ${url}\n        ${reason} (after ${attempts} attempt${attempts === 1 ? '' : 's'})`);
  }
}

const file = process.argv[2];
if (!file) fail('usage: npm run batch -- <images.txt>   (one image URL per line; relative lines resolve against the fileserver /images/)');

let text: string;
try {
  text = await readFile(file, 'utf8');
} catch (err) {
  fail(`cannot read ${file}: ${(err as Error).message}`);
}

let config;
try {
  config = loadStackConfig(process.env, 8080);
} catch (err) {
  if (err instanceof ConfigError) fail(err.message);
  throw err;
}

// The port is fixed before the stack starts so relative lines can be resolved (and checked) first.
// 8080 when free, like `npm start`: output names hash the source URL, port included, so the same
// list run twice replaces its outputs instead of adding a second set.
let port = config.port === 0 ? await freePort() : config.port;
if (!config.portChosen && !(await portIsFree(port))) {
  port = await freePort();
  console.error(`port ${config.port} is busy; the fileserver uses ${port} (set PORT to choose)`);
}
const base = config.imagesBaseUrl ?? `http://127.0.0.1:${port}/images/`;
const parsed = parseUrlList(text, base);
for (const bad of parsed.invalid) console.error(`${file}:${bad.line}: ${bad.reason}: ${bad.text}`);
for (const dup of parsed.duplicates) console.error(`${file}:${dup.line}: duplicate of line ${dup.firstLine}, skipped: ${dup.url}`);
if (parsed.entries.length === 0) fail(`${file}: no valid image URLs to process`);

let stack: RunningStack;
try {
  // The pipeline's own logs stay quiet unless asked for: the progress line and summary are the output.
  const env: Record<string, string> = process.env.LOG_LEVEL === undefined ? { LOG_LEVEL: 'warn' } : {};
  // Free metrics ports unless METRICS_PORT is set: a batch must not collide with a running `npm start`.
  stack = await launchStack({ ...config, port, env, metricsPort: config.metricsPortChosen ? config.metricsPort : 'free' }, log);
} catch (err) {
  if (err instanceof StackError) fail(err.message);
  throw err;
}

const connection = createRedis(stack.redisUrl, log, 'batch');
const eventsConnection = createRedis(stack.redisUrl, log, 'batch-events');
const queue = new Queue<ImageJobData, ImageJobResult>(config.queueName, { connection });
const events = new QueueEvents(config.queueName, { connection: eventsConnection });
let exitCode = 0;
let interrupted = false;
const interrupt = () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  console.error('\ninterrupted: stopping the pipeline (unfinished jobs stay in the queue)...');
  void shutdown().then(() => process.exit(130));
};
process.on('SIGINT', interrupt);
process.on('SIGTERM', interrupt);

async function shutdown(): Promise<void> {
  await Promise.allSettled([events.close(), queue.close()]);
  connection.disconnect();
  eventsConnection.disconnect();
  await stack.stop();
}

try {
  await events.waitUntilReady();
  const jobs = await enqueueUrls(queue, parsed.entries, config.jobPolicy);
  const skipped = parsed.invalid.length + parsed.duplicates.length;
  console.log(`queued ${jobs.length} images on "${config.queueName}"${skipped ? ` (skipped ${skipped} lines, see above)` : ''}; processing...`);
  const tty = process.stdout.isTTY === true;
  let lastLine = 0;
  const outcome = await Promise.race([
    watchJobs(
      queue,
      events,
      jobs.map((j) => String(j.id)),
      {
        onProgress: (p) => {
          if (tty) process.stdout.write(`\r\x1b[K${renderProgress(p)}`);
          else if (Date.now() - lastLine >= 2000) {
            lastLine = Date.now();
            console.log(renderProgress(p));
          }
        },
      },
    ),
    // A process that dies mid-batch is restarted and the batch goes on; one that keeps dying ends it.
    stack.gaveUp.then(({ process: name, reason }) => {
      throw new StackError(`${name} keeps dying (${reason}); gave up restarting it, see its output above`);
    }),
  ]);
  if (tty) process.stdout.write('\n');
  printSummary(outcome, config.uploadDir);
  exitCode = outcome.failed.length > 0 ? 1 : 0;
} catch (err) {
  console.error(`batch failed: ${(err as Error).message}`);
  exitCode = 1;
} finally {
  if (!interrupted) await shutdown();
}
process.exit(exitCode);
