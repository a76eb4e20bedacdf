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

export interface InboxEntry {
  id: string;
  payload: Buffer;
}

/**
 * Handles one read's worth of entries, in order. Returns normally when all of them may be
 * acknowledged; throws to have the whole batch delivered again (receivers are idempotent).
 */
export type BatchHandler = (entries: InboxEntry[]) => Promise<void>;

type StreamReply = [Buffer, [Buffer, Buffer[]][]][] | null;

const FIELD = 'm';
/** Deliveries of a failing batch before its entries are tried one by one and dropped. */
const MAX_DELIVERIES = 8;

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
    private readonly handler: BatchHandler,
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
    await this.flushAcks().catch((err) => this.log.warn('final acknowledgement failed', { error: (err as Error).message }));
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

  /** Ids handled but not yet acknowledged: sent with the next read, in the same write. */
  private toAck: string[] = [];
  /** Consecutive failed deliveries of the batch that starts at `firstId`. */
  private failing = { firstId: '', count: 0 };

  private async readOnce(): Promise<void> {
    const fromPending = this.readPending;
    const read = [
      'GROUP', this.opts.group, this.opts.consumer, 'COUNT', this.batch,
      ...(fromPending ? [] : ['BLOCK', this.blockMs]),
      'STREAMS', this.opts.stream, fromPending ? '0' : '>',
    ];
    let reply: StreamReply;
    if (this.toAck.length > 0) {
      const ids = this.toAck;
      // XACK + XDEL of the last batch and the next XREADGROUP go out as one pipeline.
      const results = await this.redis
        .pipeline()
        .xack(this.opts.stream, this.opts.group, ...ids)
        .xdel(this.opts.stream, ...ids)
        .callBuffer('XREADGROUP', ...read)
        .exec();
      this.toAck = [];
      for (const [err] of results ?? []) if (err) throw err;
      reply = (results?.[2]?.[1] ?? null) as StreamReply;
    } else {
      reply = (await this.redis.callBuffer('XREADGROUP', ...read)) as StreamReply;
    }
    const raw = reply?.[0]?.[1] ?? [];
    if (fromPending && raw.length === 0) this.readPending = false;
    if (raw.length === 0) return;
    const ids = raw.map(([id]) => id.toString());
    const entries: InboxEntry[] = [];
    raw.forEach(([, fields], i) => {
      const payload = fieldValue(fields);
      // A pending entry whose body was deleted, or a foreign entry: acknowledged and dropped.
      if (payload === undefined) this.log.warn('stream entry without payload dropped', { stream: this.opts.stream, entry: ids[i] });
      else entries.push({ id: ids[i]!, payload });
    });
    try {
      await this.handler(entries);
    } catch (err) {
      const first = ids[0]!;
      const count = this.failing.firstId === first ? this.failing.count + 1 : 1;
      this.failing = { firstId: first, count };
      if (count < MAX_DELIVERIES) {
        // Not acknowledged: the batch stays pending and is read again from the pending list.
        this.readPending = true;
        this.log.error('message handling failed; will retry', { stream: this.opts.stream, attempt: count, error: (err as Error).message });
        await new Promise((r) => setTimeout(r, 200 * count));
        return;
      }
      await this.isolatePoison(entries);
    }
    this.failing = { firstId: '', count: 0 };
    this.toAck = ids;
  }

  /**
   * A batch that keeps failing is handled one entry at a time and what still fails is dropped,
   * so one poison message cannot block the inbox. Nothing that matters is lost by that: executors
   * re-send unacknowledged terminal updates and re-offer, and lost launches show up in heartbeats.
   */
  private async isolatePoison(entries: InboxEntry[]): Promise<void> {
    for (const entry of entries) {
      try {
        await this.handler([entry]);
      } catch (err) {
        this.log.error('message dropped after repeated failures', {
          stream: this.opts.stream,
          entry: entry.id,
          attempts: MAX_DELIVERIES,
          error: (err as Error).message,
        });
      }
    }
  }

  /** Acknowledges what was handled before the loop stops. */
  private async flushAcks(): Promise<void> {
    if (this.toAck.length === 0) return;
    const ids = this.toAck;
    this.toAck = [];
    await this.redis.pipeline().xack(this.opts.stream, this.opts.group, ...ids).xdel(this.opts.stream, ...ids).exec();
  }
}

function fieldValue(fields: Buffer[] | null | undefined): Buffer | undefined {
  if (!fields) return undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i]?.toString() === FIELD) return fields[i + 1];
  }
  return undefined;
}
