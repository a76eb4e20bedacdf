/**
 * The library's client: enqueue, follow, count and cancel image jobs of a running stack.
 * `npm run enqueue` uses the same `enqueueList` (through `Client`), so a list gets the same
 * validation, dedup and job ids from code as from the shell.
 */
import { Queue, QueueEvents } from 'bullmq';
import { cancelJobs } from '../client/cancel-jobs.js';
import type { ClientConfig } from '../client/client-config.js';
import { enqueueOnce, jobIdFor } from '../client/enqueue-once.js';
import { parseUrlItems, type ParsedUrlList } from '../client/parse-url-list.js';
import { createLogger } from '../common/log.js';
import type { ImageJobData, ImageJobResult } from '../common/queue.js';
import { bullOptions, createRedis, queueKeys, type RedisClient } from '../common/redis.js';
import { followJobs } from './follow-jobs.js';
import type {
  CancelOptions,
  CancelResult,
  EnqueueOptions,
  EnqueueResult,
  EnqueuedJob,
  JobRef,
  JobResult,
  OfferInvertClient,
  QueueCounts,
  WaitOptions,
} from './types.js';

/** Everything the library offers plus what the CLIs share with it (a parsed list, the config). */
export class Client implements OfferInvertClient {
  readonly redisUrl: string;
  readonly queueName: string;
  readonly config: Readonly<ClientConfig>;
  /** The commands' own checks (is a scheduler serving?) read the same connection. */
  readonly redis: RedisClient;
  private readonly queue: Queue<ImageJobData, ImageJobResult>;
  private events: QueueEvents | undefined;
  private eventsRedis: RedisClient | undefined;
  private closed = false;

  constructor(config: Readonly<ClientConfig>, connectionName = 'offer-invert-client') {
    this.config = config;
    this.redisUrl = config.redisUrl;
    this.queueName = config.queueName;
    // A library must not print: its connection errors surface as rejected calls.
    const log = createLogger({ proc: connectionName }, 'silent');
    // A finite retry budget: a call made while Redis is away fails instead of hanging.
    this.redis = createRedis(config.redisUrl, log, connectionName, { maxRetriesPerRequest: 3 });
    this.queue = new Queue<ImageJobData, ImageJobResult>(config.queueName, bullOptions(this.redis, config.queueName));
    this.queue.on('error', () => undefined);
  }

  async enqueue(urls: readonly string[], options: EnqueueOptions = {}): Promise<EnqueueResult> {
    if (!Array.isArray(urls) || urls.some((u) => typeof u !== 'string')) throw new TypeError('enqueue takes an array of URL strings');
    const { jobs, rejected } = await this.enqueueList(parseUrlItems(urls, this.config.imagesBaseUrl), options);
    return { jobs, rejected };
  }

  /** For a list parsed already (the CLI's file with comments): `line` is index + 1. */
  async enqueueList(list: ParsedUrlList, options: EnqueueOptions = {}): Promise<EnqueueResult & { added: string[]; existingFailed: number }> {
    const { added, existing, existingFailed } = await enqueueOnce(this.queue, this.redis, list.entries, this.config.jobPolicy, { again: options.again === true });
    const idOf = new Map<string, string>();
    for (const job of added) if (job.id !== undefined) idOf.set(job.data.url, job.id);
    const existingIds = new Set(existing);
    const jobs: EnqueuedJob[] = list.entries.map(({ line, url }) => {
      const id = idOf.get(url) ?? jobIdFor(url);
      return { id, url, index: line - 1, existing: existingIds.has(id) };
    });
    const rejected = [
      ...list.invalid.map(({ line, text, reason }) => ({ index: line - 1, text, reason })),
      ...list.duplicates.map(({ line, url, firstLine }) => ({ index: line - 1, text: url, reason: `duplicate of item ${firstLine - 1}`, duplicateOf: firstLine - 1 })),
    ].sort((a, b) => a.index - b.index);
    return { jobs, rejected, added: added.map((j) => j.id ?? '?'), existingFailed: existingFailed.length };
  }

  async waitFor(refs: readonly JobRef[], options: WaitOptions): Promise<JobResult[]> {
    const byId = new Map<string, JobResult>();
    for await (const result of this.results(refs, options)) byId.set(result.id, result);
    return refs.map((ref) => byId.get(ref.id)!);
  }

  results(refs: readonly JobRef[], options: WaitOptions): AsyncIterableIterator<JobResult> {
    const generator = async function* (self: Client) {
      const events = await self.queueEvents();
      yield* followJobs(self.queue, events, refs, options);
    };
    return generator(this);
  }

  async counts(): Promise<QueueCounts> {
    const c = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed');
    const n = (key: string) => c[key] ?? 0;
    return { waiting: n('waiting'), active: n('active'), delayed: n('delayed'), prioritized: n('prioritized'), completed: n('completed'), failed: n('failed') };
  }

  async cancel(refs: readonly JobRef[] | readonly string[], options: CancelOptions = {}): Promise<CancelResult> {
    const ids = refs.map((r: JobRef | string) => (typeof r === 'string' ? r : r.id));
    const s = await cancelJobs(this.queue, this.redis, queueKeys(this.redis, this.queueName), ids, options.waitMs ?? 10_000);
    return {
      removed: [...s.removed.waiting, ...s.removed.delayed],
      killed: s.killed,
      finishedAnyway: s.finishedAnyway,
      stillRunning: s.stillRunning,
      alreadyFinished: s.alreadyFinished,
      notFound: s.notFound,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([this.events?.close(), this.queue.close()]);
    this.eventsRedis?.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** One QueueEvents for every wait, opened on the first (it holds a blocking connection). */
  private async queueEvents(): Promise<QueueEvents> {
    if (this.closed) throw new Error('client is closed');
    if (this.events === undefined) {
      // Its own connection: QueueEvents blocks on XREAD, and must wait through a reconnect.
      this.eventsRedis = createRedis(this.redisUrl, createLogger({}, 'silent'), 'offer-invert-client-events');
      this.events = new QueueEvents(this.queueName, bullOptions(this.eventsRedis, this.queueName));
      this.events.on('error', () => undefined);
    }
    await this.events.waitUntilReady();
    return this.events;
  }
}
