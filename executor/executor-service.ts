/**
 * Wires an Executor to Redis (its inbox, its alive key, the scheduler's inbox) and to the real
 * download, sharp and upload code. main.ts runs one per process; integration tests run several
 * in-process.
 */
import { SCHEDULER_INBOX_MAX_LEN } from '../common/keys.js';
import type { Logger } from '../common/log.js';
import { createRedis, queueKeys } from '../common/redis.js';
import { withinGrace, type StopOutcome } from '../common/shutdown.js';
import { parseLease } from '../common/lease-holder.js';
import { decodeCall, encodeEvent } from '../protocol/codec.js';
import { decodingHandler, oneByOne } from '../transport/decoding-handler.js';
import { sendToStream, StreamInbox } from '../transport/stream-inbox.js';
import type { ExecutorConfig } from './config.js';
import { createDownloader } from './download.js';
import { Executor } from './executor.js';
import type { BatchTaskDeps } from './image-task.js';
import { invertImage } from './invert.js';
import type { ExecutorMetrics } from './metrics.js';
import { createBatchUploader, createUploader } from './upload.js';

export interface ExecutorService {
  executor: Executor;
  /** Drains, within SHUTDOWN_GRACE_MS; past it, says what it abandoned. */
  close(): Promise<StopOutcome>;
}

/** The alive key outlives several missed heartbeats; the leader judges by its value moving, not by its TTL. */
const ALIVE_TTL_MS = 60_000;

/** `bench --dispatch`: every image done at once, no network, no sharp; what is left is dispatch. */
function dryRunDeps(): BatchTaskDeps {
  const stored = (name: string) => ({ name: `${name}.png`, url: '', bytes: 0 });
  return {
    download: async () => Buffer.alloc(0),
    invert: async () => ({ data: Buffer.alloc(0), format: 'png', width: 1, height: 1 }),
    upload: async (name) => stored(name),
    uploadMany: async (images) => images.map((i) => stored(i.name)),
    now: Date.now,
  };
}

/** Counts bytes on their way through the real download and upload functions. */
function measured(deps: BatchTaskDeps, metrics: ExecutorMetrics | undefined): BatchTaskDeps {
  if (!metrics) return deps;
  return {
    ...deps,
    download: async (url, signal) => {
      const data = await deps.download(url, signal);
      metrics.bytesDownloaded(data.length);
      return data;
    },
    upload: async (name, image, signal) => {
      const stored = await deps.upload(name, image, signal);
      metrics.bytesUploaded(image.data.length);
      return stored;
    },
    uploadMany: async (images) => {
      const stored = await deps.uploadMany(images);
      for (const image of images) metrics.bytesUploaded(image.data.length);
      return stored;
    },
  };
}

export async function startExecutorService(config: Readonly<ExecutorConfig>, log: Logger, metrics?: ExecutorMetrics): Promise<ExecutorService> {
  const commands = createRedis(config.redisUrl, log, config.executorId, { autoPipelining: true });
  const keys = queueKeys(commands, config.queueName);
  const inboxConnection = createRedis(config.redisUrl, log, `${config.executorId}-inbox`);
  const uploaderOptions = { token: config.uploadToken, timeoutMs: config.uploadTimeoutMs, retries: config.uploadRetries };
  const upload = createUploader(uploaderOptions);
  const uploadMany = createBatchUploader(uploaderOptions);
  const batchUrl = new URL('uploads', config.uploadUrl).href;

  let inbox: StreamInbox | undefined;
  const executor = new Executor(
    {
      emit: async (event) => {
        await sendToStream(commands, keys.schedulerInbox, [encodeEvent(event)], SCHEDULER_INBOX_MAX_LEN);
        if (event.kind === 'offer') metrics?.offerSent();
      },
      markAlive: async (value) => void (await commands.set(keys.executorAlive(config.executorId), value, 'PX', ALIVE_TTL_MS)),
      inboxStalledMs: () => inbox?.stalledForMs() ?? 0,
      inboxPosition: () => inbox?.position ?? '',
      leaseHolder: async () => parseLease(await commands.get(keys.leader)),
      taskEnded: (status) => metrics?.taskEnded(status),
    },
    config.dryRun
      ? dryRunDeps()
      : measured({
          download: createDownloader(config.download),
          invert: (input, memMb) => invertImage(input, { maxPixels: config.maxInputPixels, maxMemMb: memMb }),
          upload: (name, image, signal) => upload({ url: config.uploadUrl, name }, image, signal),
          uploadMany: (images) => uploadMany(batchUrl, images),
          now: Date.now,
        }, metrics),
    config,
    log,
  );
  metrics?.readRunningFrom(() => executor.runningTasks);
  const inboxStream = keys.executorInbox(config.executorId);
  inbox = new StreamInbox(
    inboxConnection,
    { stream: inboxStream, group: 'executor', consumer: config.executorId, readGraceMs: config.inboxReadGraceMs },
    decodingHandler(inboxStream, decodeCall, oneByOne((call) => executor.handleCall(call)), log),
    log,
  );
  await commands.sadd(keys.executors, config.executorId);
  await inbox.ensureGroup();
  inbox.start();
  await executor.start();

  return {
    executor,
    async close() {
      // With Redis away the drain's sends wait for a reconnect that may never come: bounded.
      const drained = (async () => {
        await executor.drain();
        await inbox?.close();
      })();
      const outcome = await withinGrace(
        drained,
        config.shutdownGraceMs,
        () => `${executor.runningTasks} running tasks, ${executor.runningServices} service instances (redis ${commands.status})`,
      );
      if (!outcome.clean) log.error('stop abandoned after the grace period', { graceMs: config.shutdownGraceMs, abandoned: outcome.abandoned });
      commands.disconnect();
      inboxConnection.disconnect();
      return outcome;
    },
  };
}
