/**
 * `npm run enqueue images.txt` (or `-` for stdin): adds one job per URL to the BullMQ queue.
 * Exit codes: 0 added (or nothing to add), 1 every line invalid or Redis unusable, 2 bad usage.
 */
import { readFile } from 'node:fs/promises';
import { Queue } from 'bullmq';
import { loadClientConfig, type ClientConfig } from '../client/client-config.js';
import { enqueueUrls, EnqueueError } from '../client/enqueue-urls.js';
import { parseUrlList, type ParsedUrlList } from '../client/parse-url-list.js';
import { ConfigError } from '../common/config.js';
import { createLogger } from '../common/log.js';
import type { ImageJobData } from '../common/queue.js';
import { createRedis, redisAnswers } from '../common/redis.js';

const USAGE = `usage: npm run enqueue <file>      (or: node dist/cli/enqueue.js <file>)
  <file>  one image URL per line; '#' starts a comment; relative lines resolve against
          IMAGES_BASE_URL (default: FILESERVER_URL/images/); '-' reads standard input
environment: REDIS_URL, QUEUE_NAME, FILESERVER_URL, IMAGES_BASE_URL, JOB_ATTEMPTS, JOB_BACKOFF_MS`;

const SHOWN_JOB_IDS = 5;
const SHOWN_TEXT_CHARS = 200;

class UsageError extends Error {}

async function main(args: string[]): Promise<number> {
  if (args[0] === '-h' || args[0] === '--help') {
    console.log(USAGE);
    return 0;
  }
  const [file, ...extra] = args;
  if (file === undefined || extra.length > 0) {
    console.error(USAGE);
    return 2;
  }

  const config = loadClientConfig(process.env);
  const label = file === '-' ? '<stdin>' : file;
  const list = parseUrlList(await readInput(file), config.imagesBaseUrl);
  reportProblems(label, list);

  if (list.entries.length === 0) {
    if (list.invalid.length > 0) {
      console.error(`enqueue: nothing added: every URL line in ${label} is invalid`);
      return 1;
    }
    console.log(`nothing to add: ${label} has no URLs${list.duplicates.length > 0 ? ' (only duplicates)' : ''}`);
    return 0;
  }

  if (!(await redisAnswers(config.redisUrl, 2000))) {
    console.error(noRedisMessage(config.redisUrl));
    return 1;
  }
  return addJobs(config, list);
}

async function addJobs(config: Readonly<ClientConfig>, list: ParsedUrlList): Promise<number> {
  const log = createLogger({ process: 'enqueue' });
  // A finite retry budget: a Redis lost mid-run fails the CLI instead of hanging it forever.
  const redis = createRedis(config.redisUrl, log, 'enqueue', { maxRetriesPerRequest: 3 });
  const queue = new Queue<ImageJobData>(config.queueName, { connection: redis });
  try {
    const jobs = await enqueueUrls(queue, list.entries, config.jobPolicy);
    console.log(summary(config, list, jobs.map((job) => job.id ?? '?')));
    return 0;
  } catch (err) {
    const added = err instanceof EnqueueError ? err.added.length : 0;
    const why = err instanceof EnqueueError && err.cause instanceof Error ? err.cause.message : describe(err);
    console.error(`enqueue: failed after adding ${added} of ${list.entries.length} jobs to queue "${config.queueName}": ${why}`);
    return 1;
  } finally {
    await queue.close();
    await redis.quit().catch(() => redis.disconnect());
  }
}

async function readInput(file: string): Promise<string> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`enqueue: ${file}: no such file (expected a text file with one image URL per line)`);
    if (code === 'EISDIR') throw new UsageError(`enqueue: ${file} is a directory, not a list of URLs`);
    throw new UsageError(`enqueue: cannot read ${file}: ${describe(err)}`);
  }
}

function reportProblems(label: string, list: ParsedUrlList): void {
  for (const { line, reason, text } of list.invalid) console.error(`${label}:${line}: ${reason}: ${printable(text)}`);
  for (const { line, url, firstLine } of list.duplicates) {
    console.error(`${label}:${line}: skipped duplicate of line ${firstLine}: ${url}`);
  }
}

function summary(config: Readonly<ClientConfig>, list: ParsedUrlList, ids: string[]): string {
  const skipped = [
    list.duplicates.length > 0 ? plural(list.duplicates.length, 'duplicate') : '',
    list.invalid.length > 0 ? `${list.invalid.length} invalid` : '',
  ].filter((s) => s !== '');
  const shown = ids.slice(0, SHOWN_JOB_IDS).join(', ') + (ids.length > SHOWN_JOB_IDS ? ', ...' : '');
  const cli = `redis-cli -u ${redactUrl(config.redisUrl)}`;
  const key = `bull:${config.queueName}`;
  return [
    `added ${plural(ids.length, 'job')} to queue "${config.queueName}"${skipped.length > 0 ? ` (skipped: ${skipped.join(', ')})` : ''}`,
    `job ids: ${shown}`,
    'watch progress:',
    `  ${cli} llen ${key}:wait          # waiting for an executor`,
    `  ${cli} zcard ${key}:completed    # done (also ${key}:failed)`,
  ].join('\n');
}

function noRedisMessage(url: string): string {
  return [
    `enqueue: Redis does not answer at ${redactUrl(url)}. To get one:`,
    '  - start the local stack with `npm start` in another terminal (it prints the REDIS_URL to use), or',
    '  - set REDIS_URL to a Redis you can reach, e.g. REDIS_URL=redis://host:6379 npm run enqueue images.txt, or',
    '  - install and run redis-server (e.g. `apt-get install redis-server`, `brew install redis`)',
  ].join('\n');
}

/** Keeps a password out of terminals and logs. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.href;
  } catch {
    return url;
  }
}

/** Lines echoed back may hold terminal escapes or be megabytes long. */
function printable(text: string): string {
  const short = text.length > SHOWN_TEXT_CHARS ? `${text.slice(0, SHOWN_TEXT_CHARS)}...` : text;
  return short.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError || err instanceof ConfigError) {
      console.error(err instanceof ConfigError ? `enqueue: ${err.message}` : err.message);
      process.exitCode = 2;
      return;
    }
    console.error(`enqueue: ${describe(err)}`);
    process.exitCode = 1;
  },
);
