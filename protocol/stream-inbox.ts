/**
 * Acknowledged delivery over Redis Streams with a consumer group.
 *
 * An entry is acknowledged (XACK, then XDEL to keep the stream short) only after the handler
 * has acted on it. After a restart, or after a handler error, the consumer first re-reads its
 * own pending entries, so nothing sent while it was down or busy failing is lost. If Redis
 * lost the group (a restart without persistence), it is recreated.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../common/log.js';

export interface InboxOptions {
  stream: string;
  group: string;
  consumer: string;
  blockMs?: number;
  batch?: number;
}

/** Returns normally when the entry may be acknowledged; throws to have it delivered again. */
export type EntryHandler = (payload: Buffer, entryId: string) => Promise<void>;

type StreamReply = [Buffer, [Buffer, Buffer[]][]][] | null;

const FIELD = 'm';

export async function sendToStream(redis: Redis, stream: string, payload: Buffer): Promise<void> {
  await redis.xadd(stream, '*', FIELD, payload);
}

export class StreamInbox {
  private running = false;
  private loop: Promise<void> | undefined;
  private readPending = true;
  private readonly blockMs: number;
  private readonly batch: number;

  constructor(
    /** A connection used only by this inbox: XREADGROUP BLOCK holds it. */
    private readonly redis: Redis,
    private readonly opts: InboxOptions,
    private readonly handler: EntryHandler,
    private readonly log: Logger,
  ) {
    this.blockMs = opts.blockMs ?? 1000;
    this.batch = opts.batch ?? 64;
  }

  async ensureGroup(): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', this.opts.stream, this.opts.group, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops reading; the entry being handled is finished first. */
  async close(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    let ready = false;
    while (this.running) {
      try {
        if (!ready) {
          await this.ensureGroup();
          ready = true;
        }
        await this.readOnce();
      } catch (err) {
        const message = (err as Error).message ?? String(err);
        if (message.includes('NOGROUP')) {
          ready = false;
          this.readPending = true;
          this.log.warn('stream consumer group missing, recreating', { stream: this.opts.stream });
        } else if (this.running) {
          this.log.warn('stream read failed, retrying', { stream: this.opts.stream, error: message });
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    }
  }

  private async readOnce(): Promise<void> {
    const fromPending = this.readPending;
    const reply = (await this.redis.callBuffer(
      'XREADGROUP',
      'GROUP',
      this.opts.group,
      this.opts.consumer,
      'COUNT',
      this.batch,
      ...(fromPending ? [] : ['BLOCK', this.blockMs]),
      'STREAMS',
      this.opts.stream,
      fromPending ? '0' : '>',
    )) as StreamReply;
    const entries = reply?.[0]?.[1] ?? [];
    if (fromPending && entries.length === 0) this.readPending = false;
    for (const [rawId, fields] of entries) {
      const entryId = rawId.toString();
      const payload = fieldValue(fields);
      if (payload !== undefined) {
        try {
          await this.handler(payload, entryId);
        } catch (err) {
          // Not acknowledged: it stays pending and is read again from the pending list.
          this.readPending = true;
          this.log.error('message handling failed; will retry', {
            stream: this.opts.stream,
            entry: entryId,
            error: (err as Error).message,
          });
          await new Promise((r) => setTimeout(r, 200));
          return;
        }
      } else {
        // A pending entry whose body was deleted (XDEL raced) or a foreign entry: drop it.
        this.log.warn('stream entry without payload dropped', { stream: this.opts.stream, entry: entryId });
      }
      await this.redis.multi().xack(this.opts.stream, this.opts.group, entryId).xdel(this.opts.stream, entryId).exec();
    }
  }
}

function fieldValue(fields: Buffer[] | null | undefined): Buffer | undefined {
  if (!fields) return undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i]?.toString() === FIELD) return fields[i + 1];
  }
  return undefined;
}
