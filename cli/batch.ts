/**
 * `offer-invert batch images.txt`: one shot. Brings the stack up, enqueues the list, shows
 * progress until every job is completed or failed, writes `<UPLOAD_DIR>/manifest.json`, prints a
 * summary, shuts down. Exit codes: 0 all inverted, 1 an image failed (or the pipeline broke),
 * 2 bad usage, bad input (same messages as `enqueue`), bad settings, or a task size no
 * executor fits (after BATCH_UNPLACEABLE_WAIT_MS).
 */
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { Queue, QueueEvents } from 'bullmq';
import { loadBatchConfig, type BatchConfig } from '../client/batch-config.js';
import { BatchDisplay } from '../client/batch-display.js';
import { buildManifest, writeManifest } from '../client/batch-manifest.js';
import { leadingScheduler, queueAlreadyServedMessage } from '../client/preflight.js';
import { enqueueUrls } from '../client/enqueue-urls.js';
import { parseUrlList, type ParsedUrlList } from '../client/parse-url-list.js';
import { UnplaceableError, watchUnplaceable } from '../client/unplaceable-watch.js';
import { listLabel, noEntriesProblem, problemLines, readUrlList, UrlListError } from '../client/url-list-input.js';
import { watchJobs, type BatchOutcome } from '../client/watch-jobs.js';
import { ConfigError } from '../common/config.js';
import { createLogger } from '../common/log.js';
import type { ImageJobData, ImageJobResult } from '../common/queue.js';
import { createRedis, bullOptions, queueKeys } from '../common/redis.js';
import { freePort, portIsFree } from '../stack/free-port.js';
import { launchStack, StackError, type RunningStack } from '../stack/launch-stack.js';

const USAGE = `usage: offer-invert batch <file>      (npm run batch -- <file>)
  <file>  one image URL per line; '#' starts a comment; '-' reads standard input; relative
          lines resolve against the fileserver this command starts (/images/ = IMAGES_DIR)
Starts the pipeline, inverts every image into UPLOAD_DIR, writes UPLOAD_DIR/manifest.json
(URL -> output, or failure reason and attempts), prints a summary and stops.
Exit codes: 0 all inverted, 1 some failed, 2 bad usage/input/settings or a task size no executor fits.
environment: as for start (docs/configuration.md), plus BATCH_UNPLACEABLE_WAIT_MS`;

const SHOWN_OK = 20;

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

function argsOrExit(argv: string[]): string {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  } catch (err) {
    fail(`batch: ${(err as Error).message.split('\n')[0]} (see --help)`);
  }
  if (parsed.values.help === true) {
    console.log(USAGE);
    process.exit(0);
  }
  const [file, ...extra] = parsed.positionals;
  if (file === undefined) fail(`batch: which file? give a list of image URLs\n${USAGE}`);
  if (extra.length > 0) fail(`batch: one file at a time (got ${parsed.positionals.length}; see --help)`);
  return file;
}

/** Relative to the working directory when under it, else absolute. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' ? '.' : rel.startsWith('..') ? path : rel;
}

function printSummary(outcome: BatchOutcome, uploadDir: string, manifestPath: string | undefined): void {
  const seconds = outcome.elapsedMs / 1000;
  const total = outcome.completed.length + outcome.failed.length;
  const dir = shown(uploadDir);
  console.log(`\ninverted ${outcome.completed.length} of ${total} images in ${seconds.toFixed(1)} s -> ${dir}/`);
  const listed = outcome.completed.slice(0, SHOWN_OK);
  for (const { url, result } of listed) {
    console.log(`  ok    ${result.name}  (${result.width}x${result.height} ${result.format}, ${result.bytes} bytes, ${result.durationMs} ms)  <- ${url}`);
  }
  if (outcome.completed.length > listed.length) console.log(`  ...and ${outcome.completed.length - listed.length} more in ${dir}/`);
  for (const { url, reason, attempts, maxAttempts } of outcome.failed) {
    console.log(`  FAIL  ${url}\n        ${reason} (attempt ${attempts}/${maxAttempts})`);
  }
  if (manifestPath !== undefined) console.log(`manifest (every URL -> output or failure): ${shown(manifestPath)}`);
}

async function listOrExit(file: string, base: string): Promise<ParsedUrlList> {
  let text: Buffer;
  try {
    text = await readUrlList(file);
  } catch (err) {
    if (err instanceof UrlListError) fail(err.message);
    throw err;
  }
  const label = listLabel(file);
  const parsed = parseUrlList(text, base);
  for (const line of problemLines(label, parsed)) console.error(line);
  const problem = noEntriesProblem(label, parsed);
  if (problem !== undefined) fail(problem);
  return parsed;
}

const file = argsOrExit(process.argv.slice(2));
let config: Readonly<BatchConfig>;
try {
  config = loadBatchConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) fail(`batch: ${err.message}`);
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
const parsed = await listOrExit(file, config.imagesBaseUrl ?? `http://127.0.0.1:${port}/images/`);

// Another stack (an `npm start`) serving this queue would take the batch's jobs: say so first.
const serving = await leadingScheduler(config.redisUrl, config.queueName);
if (serving !== undefined) fail(queueAlreadyServedMessage(config.queueName, serving, file));

const log = createLogger({ proc: 'batch' }, process.env.LOG_LEVEL === undefined ? 'warn' : undefined);
const display = new BatchDisplay(process.stdout, process.stderr);
let stack: RunningStack;
try {
  // The pipeline's own logs stay quiet unless asked for: the progress bar and summary are the output.
  const env: Record<string, string> = process.env.LOG_LEVEL === undefined ? { LOG_LEVEL: 'warn' } : {};
  // Free metrics ports unless METRICS_PORT is set: a batch must not collide with a running `npm start`.
  stack = await launchStack({ ...config, port, env, output: (line) => display.childLine(line), metricsPort: config.metricsPortChosen ? config.metricsPort : 'free' }, log);
} catch (err) {
  if (err instanceof StackError) fail(err.message);
  throw err;
}

const connection = createRedis(stack.redisUrl, log, 'batch');
const eventsConnection = createRedis(stack.redisUrl, log, 'batch-events');
const queue = new Queue<ImageJobData, ImageJobResult>(config.queueName, bullOptions(connection, config.queueName));
const events = new QueueEvents(config.queueName, bullOptions(eventsConnection, config.queueName));
const unplaceable = watchUnplaceable(connection, queueKeys(connection, config.queueName), {
  waitMs: config.unplaceableWaitMs,
  onChange: (reason) =>
    display.notice(reason === undefined ? 'tasks fit an executor again' : `waiting: ${reason} (giving up after ${Math.round(config.unplaceableWaitMs / 1000)} s)`),
});
let exitCode = 0;
let interrupted = false;
const interrupt = () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  display.finish();
  console.error('\ninterrupted: stopping the pipeline (unfinished jobs stay in the queue)...');
  void shutdown().then(() => process.exit(130));
};
process.on('SIGINT', interrupt);
process.on('SIGTERM', interrupt);

async function shutdown(): Promise<void> {
  unplaceable.stop();
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
  const outcome = await Promise.race([
    watchJobs(
      queue,
      events,
      jobs.map((j) => String(j.id)),
      { onProgress: (p) => display.progress(p) },
    ),
    // A process that dies mid-batch is restarted and the batch goes on; one that keeps dying ends it.
    stack.gaveUp.then(({ process: name, reason }) => {
      throw new StackError(`${name} keeps dying (${reason}); gave up restarting it, see its output above`);
    }),
    unplaceable.gaveUp,
  ]);
  for (const line of display.finish()) console.error(line);
  const manifest = buildManifest(outcome, {
    list: listLabel(file),
    queue: config.queueName,
    finishedAt: new Date(),
    lineOf: new Map(parsed.entries.map((e) => [e.url, e.line])),
  });
  const manifestPath = await writeManifest(config.uploadDir, manifest).catch((err: unknown) => {
    console.error(`could not write the manifest in ${config.uploadDir}: ${(err as Error).message}`);
    return undefined;
  });
  printSummary(outcome, config.uploadDir, manifestPath);
  exitCode = outcome.failed.length > 0 ? 1 : 0;
} catch (err) {
  for (const line of display.finish()) console.error(line);
  console.error(`batch failed: ${(err as Error).message}`);
  exitCode = err instanceof UnplaceableError ? 2 : 1;
} finally {
  if (!interrupted) await shutdown();
}
process.exit(exitCode);
