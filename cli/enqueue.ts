/**
 * `offer-invert enqueue images.txt` (or `-` for stdin): adds one job per URL to the BullMQ queue,
 * once: a URL already queued, running or done is not added again unless `--again`.
 * Exit codes: 0 added (or all already there), 1 Redis or the image server unusable, 2 bad usage
 * or bad input (see client/url-list-input.ts, shared with `batch`).
 */
import { parseArgs } from 'node:util';
import { loadClientConfig, type ClientConfig } from '../client/client-config.js';
import { EnqueueError } from '../client/enqueue-urls.js';
import { parseUrlList, type ParsedUrlList } from '../client/parse-url-list.js';
import { firstUnderBase, noSchedulerWarning, nothingAnswersMessage, probeUrl, schedulerServes } from '../client/preflight.js';
import { listLabel, noEntriesProblem, problemLines, readUrlList, UrlListError } from '../client/url-list-input.js';
import { DEFAULT_QUEUE_NAME } from '../common/queue.js';
import { ConfigError } from '../common/config.js';
import { queueKeys, redactUrl, redisAnswers } from '../common/redis.js';
import { Client } from '../lib/client.js';

const USAGE = `usage: offer-invert enqueue [--again] [--no-check] <file>     (npm run enqueue -- <file>)
  <file>      one image URL per line; '#' starts a comment; '-' reads standard input.
              Relative lines resolve against IMAGES_BASE_URL (default FILESERVER_URL/images/,
              FILESERVER_URL defaulting to the fileserver \`npm start\` runs for PORT/HOST)
  --again     add jobs for URLs that are already queued or done (each URL is added once otherwise)
  --no-check  do not check that the images' server answers before adding
  -h, --help  this text
environment: REDIS_URL, QUEUE_NAME, PORT, HOST, FILESERVER_URL, IMAGES_BASE_URL, JOB_ATTEMPTS, JOB_BACKOFF_MS`;

const SHOWN_JOB_IDS = 3;

class UsageError extends Error {}

interface Args {
  file: string;
  again: boolean;
  check: boolean;
}

function parse(argv: string[]): Args | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { again: { type: 'boolean' }, 'no-check': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    throw new UsageError(`enqueue: ${(err as Error).message.split('\n')[0]} (see --help)`);
  }
  if (parsed.values.help === true) return 'help';
  const [file, ...extra] = parsed.positionals;
  if (file === undefined) throw new UsageError(`enqueue: which file? give a list of image URLs\n${USAGE}`);
  if (extra.length > 0) throw new UsageError(`enqueue: one file at a time (got ${parsed.positionals.length}; see --help)`);
  return { file, again: parsed.values.again === true, check: parsed.values['no-check'] !== true };
}

async function main(argv: string[]): Promise<number> {
  const args = parse(argv);
  if (args === 'help') {
    console.log(USAGE);
    return 0;
  }
  const config = loadClientConfig(process.env);
  const label = listLabel(args.file);
  const list = parseUrlList(await readUrlList(args.file), config.imagesBaseUrl);
  for (const line of problemLines(label, list)) console.error(line);
  const problem = noEntriesProblem(label, list);
  if (problem !== undefined) throw new UrlListError(problem);

  const probed = args.check ? firstUnderBase(list.entries.map((e) => e.url), config.imagesBaseUrl) : undefined;
  if (probed !== undefined) {
    const probe = await probeUrl(probed);
    if (!probe.answers) {
      console.error(`enqueue: ${nothingAnswersMessage(config.imagesBaseUrl, probe.why)}`);
      return 1;
    }
  }
  if (!(await redisAnswers(config.redisUrl, 2000))) {
    console.error(noRedisMessage(config.redisUrl));
    return 1;
  }
  return addJobs(config, list, args.again);
}

async function addJobs(config: Readonly<ClientConfig>, list: ParsedUrlList, again: boolean): Promise<number> {
  // The library's client: the CLI and a user's program add a list the same way.
  const client = new Client(config, 'enqueue');
  try {
    if (!(await schedulerServes(client.redis, queueKeys(client.redis, config.queueName)))) console.error(noSchedulerWarning(config.queueName));
    const { added, jobs, existingFailed } = await client.enqueueList(list, { again });
    const existing = jobs.filter((j) => j.existing).length;
    console.log(summary(config, list, added, existing));
    if (existingFailed > 0) {
      console.log(`${existingFailed} of the ${existing} already there failed for good: npm run retry-failed runs the failed jobs again`);
    }
    return 0;
  } catch (err) {
    const count = err instanceof EnqueueError ? err.added.length : 0;
    const why = err instanceof EnqueueError && err.cause instanceof Error ? err.cause.message : describe(err);
    console.error(`enqueue: failed after adding ${count} of ${list.entries.length} jobs to queue "${config.queueName}": ${why}`);
    return 1;
  } finally {
    await client.close();
  }
}

function summary(config: Readonly<ClientConfig>, list: ParsedUrlList, ids: string[], existing: number): string {
  const skipped = [
    existing > 0 ? `${existing} already queued or done (use --again to run them again)` : '',
    list.duplicates.length > 0 ? plural(list.duplicates.length, 'duplicate') : '',
    list.invalid.length > 0 ? `${list.invalid.length} invalid` : '',
  ].filter((s) => s !== '');
  const lines = [`added ${plural(ids.length, 'job')} to queue "${config.queueName}"${skipped.length > 0 ? ` (skipped: ${skipped.join(', ')})` : ''}`];
  if (ids.length === 0) return lines.join('\n');
  const shown = ids.slice(0, SHOWN_JOB_IDS).join(', ') + (ids.length > SHOWN_JOB_IDS ? ', ...' : '');
  lines.push(`job ids: ${shown}`, `watch progress: ${config.queueName === DEFAULT_QUEUE_NAME ? '' : `QUEUE_NAME=${config.queueName} `}npm run status   (results: ${config.fileserverUrl.replace(/\/$/, '')}/files/)`);
  return lines.join('\n');
}

function noRedisMessage(url: string): string {
  return [
    `enqueue: Redis does not answer at ${redactUrl(url)}. To get one:`,
    '  - start the local stack with `npm start` in another terminal (it prints the REDIS_URL to use), or',
    '  - set REDIS_URL to a Redis you can reach, e.g. REDIS_URL=redis://host:6379 npm run enqueue images.txt, or',
    '  - install and run redis-server (e.g. `apt-get install redis-server`, `brew install redis`)',
  ].join('\n');
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
    if (err instanceof UsageError || err instanceof UrlListError || err instanceof ConfigError) {
      console.error(err instanceof ConfigError ? `enqueue: ${err.message}` : err.message);
      process.exitCode = 2;
      return;
    }
    console.error(`enqueue: ${describe(err)}`);
    process.exitCode = 1;
  },
);
