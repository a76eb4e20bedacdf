/**
 * Acknowledged delivery over Redis Streams with a consumer group.
 *
 * An entry is acknowledged (XACK, then XDEL to keep the stream short) only after the handler
 * has acted on it. After a restart, or after a handler error, the consumer first re-reads its
 * own pending entries, so nothing sent while it was down or busy failing is lost. If Redis
 * lost the group (a restart without persistence), it is recreated.
 *
 * A blocking read on a connection whose link died never returns (TCP notices only minutes
 * later), so a watchdog drops the connection when a read overruns its block time; ioredis then
 * reconnects and the loop re-reads its pending entries. `stalledForMs` tells the owner how long
 * the inbox has gone without a completed read, so an executor can stop offering meanwhile.
 */
import type { RedisClient } from '../common/redis.js';
import { describeError } from '../common/errors.js';
import type { Logger } from '../common/log.js';

export interface InboxOptions {
  stream: string;
  group: string;
  consumer: string;
  /** XREADGROUP BLOCK, default 1000 ms. */
  blockMs?: number;
  /** Entries per read, default 64. */
  batch?: number;
  /** A read that has not returned this long after its block time ends is abandoned; default 3000 ms. */
  readGraceMs?: number;
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

/** Appends payloads to a stream in one round trip; `maxLen` trims it approximately. Resolves with their entry ids. */
export async function sendToStream(redis: RedisClient, stream: string, payloads: readonly Buffer[], maxLen?: number): Promise<string[]> {
  if (payloads.length === 0) return [];
  const trim: (string | number)[] = maxLen === undefined ? [] : ['MAXLEN', '~', maxLen];
  if (payloads.length === 1) return [String(await redis.xadd(stream, ...trim, '*', FIELD, payloads[0]!))];
  const pipeline = redis.pipeline();
  for (const payload of payloads) pipeline.xadd(stream, ...trim, '*', FIELD, payload);
  const results = (await pipeline.exec()) ?? [];
  for (const [err] of results) if (err) throw err;
  return results.map(([, id]) => String(id));
}

/** Orders stream entry ids ("<ms>-<seq>"): negative, zero or positive like a comparator. */
export function compareEntryIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}

export class StreamInbox {
  private running = false;
  private closed = false;
  private loop: Promise<void> | undefined;
  private readPending = true;
  private readonly blockMs: number;
  private readonly batch: number;
  private readonly readGraceMs: number;
  /** When the read in flight started, or undefined between reads. */
  private readStartedMs: number | undefined;
  private lastReadDoneMs = Date.now();
  private watchdog: NodeJS.Timeout | undefined;
  /** Ids handled but not yet acknowledged: sent with the next read, in the same write. */
  private toAck: string[] = [];
  /** Consecutive failed deliveries of the batch that starts at `firstId`. */
  private failing = { firstId: '', count: 0 };
  private lastHandled = '';

  constructor(
    /** A connection used only by this inbox: XREADGROUP BLOCK holds it. */
    private readonly redis: RedisClient,
    private readonly opts: InboxOptions,
    private readonly handler: BatchHandler,
    private readonly log: Logger,
  ) {
    this.blockMs = opts.blockMs ?? 1000;
    this.batch = opts.batch ?? 64;
    this.readGraceMs = opts.readGraceMs ?? 3000;
  }

  async ensureGroup(): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', this.opts.stream, this.opts.group, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
  }

  start(): void {
    if (this.running || this.closed) return;
    this.running = true;
    this.lastReadDoneMs = Date.now();
    this.watchdog = setInterval(() => this.checkRead(), Math.max(100, Math.min(1000, this.blockMs))).unref();
    this.loop = this.run();
  }

  /** Stops reading for good; the batch being handled is finished (and acknowledged) first. */
  async close(): Promise<void> {
    this.closed = true;
    this.running = false;
    // The watchdog stays on until the loop ends: a read stuck on a dead link would hold it forever.
    await this.loop;
    clearInterval(this.watchdog);
    await this.flushAcks().catch((err) => this.log.warn('final acknowledgement failed', { error: describeError(err) }));
  }

  /** The id of the last entry handled ('' before the first). */
  get position(): string {
    return this.lastHandled;
  }

  /** How long the inbox has gone without completing a read (0 while healthy). */
  stalledForMs(nowMs = Date.now()): number {
    const overdue = nowMs - this.lastReadDoneMs - this.blockMs - this.readGraceMs;
    return this.running && overdue > 0 ? overdue + this.readGraceMs : 0;
  }

  /**
   * Takes over entries other consumers of the group left unacknowledged for `minIdleMs` (a dead
   * or deposed reader's), so they are read next from this consumer's pending list.
   */
  async claimAbandoned(minIdleMs: number): Promise<number> {
    let cursor = '0-0';
    let claimed = 0;
    for (let rounds = 0; rounds < 1000; rounds++) {
      const reply = (await this.redis.call(
        'XAUTOCLAIM', this.opts.stream, this.opts.group, this.opts.consumer, minIdleMs, cursor, 'COUNT', 500, 'JUSTID',
      )) as [string, string[], string[]?];
      cursor = reply[0];
      claimed += reply[1].length;
      if (cursor === '0-0') break;
    }
    if (claimed > 0) this.readPending = true;
    return claimed;
  }

  private checkRead(): void {
    if (this.readStartedMs === undefined || this.loop === undefined) return;
    if (Date.now() - this.readStartedMs <= this.blockMs + this.readGraceMs) return;
    this.log.warn('stream read overdue: dropping the connection to reconnect', {
      stream: this.opts.stream,
      waitedMs: Date.now() - this.readStartedMs,
    });
    this.readStartedMs = undefined;
    this.readPending = true;
    // Rejects the read in flight; ioredis reconnects with its retry strategy.
    this.redis.disconnect(true);
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
        this.readStartedMs = undefined;
        const message = describeError(err);
        this.readPending = true;
        if (message.includes('NOGROUP')) {
          ready = false;
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
    const read = [
      'GROUP', this.opts.group, this.opts.consumer, 'COUNT', this.batch,
      ...(fromPending ? [] : ['BLOCK', this.blockMs]),
      'STREAMS', this.opts.stream, fromPending ? '0' : '>',
    ];
    let reply: StreamReply;
    this.readStartedMs = Date.now();
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
    this.readStartedMs = undefined;
    this.lastReadDoneMs = Date.now();
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
      if (!this.running) throw err; // closing: leave the batch pending for whoever reads next
      const first = ids[0]!;
      const count = this.failing.firstId === first ? this.failing.count + 1 : 1;
      this.failing = { firstId: first, count };
      if (count < MAX_DELIVERIES) {
        // Not acknowledged: the batch stays pending and is read again from the pending list.
        this.readPending = true;
        this.log.error('message handling failed; will retry', { stream: this.opts.stream, attempt: count, error: describeError(err) });
        await new Promise((r) => setTimeout(r, 200 * count));
        return;
      }
      await this.isolatePoison(entries);
    }
    this.failing = { firstId: '', count: 0 };
    this.toAck = ids;
    this.lastHandled = ids[ids.length - 1]!;
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
          error: describeError(err),
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
