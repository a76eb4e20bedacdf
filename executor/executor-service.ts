/**
 * Wires an Executor to Redis (its inbox, the scheduler's inbox) and to the real download,
 * sharp and upload code. main.ts runs one per process; integration tests run several in-process.
 */
import type { Logger } from '../common/log.js';
import { createRedis } from '../common/redis.js';
import { decodeCall, encodeEvent } from '../protocol/codec.js';
import { decodingHandler, oneByOne } from '../protocol/decoding-handler.js';
import { sendToStream, StreamInbox } from '../protocol/stream-inbox.js';
import { streamNames } from '../protocol/stream-names.js';
import type { ExecutorConfig } from './config.js';
import { createDownloader } from './download.js';
import { Executor } from './executor.js';
import { invertImage } from './invert.js';
import { createUploader } from './upload.js';

export interface ExecutorService {
  executor: Executor;
  close(): Promise<void>;
}

export async function startExecutorService(config: Readonly<ExecutorConfig>, log: Logger): Promise<ExecutorService> {
  const names = streamNames(config.queueName);
  const commands = createRedis(config.redisUrl, log, config.executorId, { enableAutoPipelining: true });
  const inboxConnection = createRedis(config.redisUrl, log, `${config.executorId}-inbox`);

  const executor = new Executor(
    (event) => sendToStream(commands, names.schedulerInbox, encodeEvent(event)),
    {
      download: createDownloader(config.download),
      invert: (input) => invertImage(input, { maxPixels: config.maxInputPixels }),
      upload: createUploader({ token: config.uploadToken, timeoutMs: config.uploadTimeoutMs, retries: config.uploadRetries }),
      now: Date.now,
    },
    config,
    log,
  );
  const inboxStream = names.executorInbox(config.executorId);
  const inbox = new StreamInbox(
    inboxConnection,
    { stream: inboxStream, group: 'executor', consumer: config.executorId },
    decodingHandler(inboxStream, decodeCall, oneByOne((call) => executor.handleCall(call)), log),
    log,
  );
  await inbox.ensureGroup();
  inbox.start();
  await executor.start();

  return {
    executor,
    async close() {
      await executor.drain();
      await inbox.close();
      commands.disconnect();
      inboxConnection.disconnect();
    },
  };
}
