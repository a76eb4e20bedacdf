/**
 * What the leader knows about executors: their resources as they last reported them, whether
 * they were told to stop offering (and so must be revived when work arrives), and whether they
 * are alive. Pure state, driven by the leader's clock.
 *
 * Liveness is judged by each executor's own heartbeat sequence, which it writes to its alive
 * key in Redis, not by when the leader happened to read an event: a leader that falls behind
 * its inbox must not declare every executor lost. The leader polls the keys and notes, on its
 * own clock, when each sequence last moved.
 */
import { EMPTY } from '../protocol/resources.js';
import type { Resources } from '../protocol/types.js';

export interface ExecutorRecord {
  id: string;
  hostname: string;
  advertiseHost: string;
  total: Resources;
  used: Resources;
  running: number;
  bootId: string;
  /** The alive key's value, "<bootId>:<seq>". */
  seq: string;
  /** Leader clock: when `seq` last changed (or when the executor was first seen). */
  seqMovedAtMs: number;
  declined: boolean;
  draining: boolean;
  inboxHealthy: boolean;
  /** Declared lost: its tasks were given up. Anything it still runs is killed when it returns. */
  lost: boolean;
  firstSeenMs: number;
}

export class ExecutorRegistry {
  private readonly executors = new Map<string, ExecutorRecord>();

  /** Finds or adds an executor (e.g. one first heard of after a failover). */
  see(id: string, nowMs: number): ExecutorRecord {
    let record = this.executors.get(id);
    if (!record) {
      record = {
        id,
        hostname: '',
        advertiseHost: '',
        total: EMPTY,
        used: EMPTY,
        running: 0,
        bootId: '',
        seq: '',
        seqMovedAtMs: nowMs,
        declined: false,
        draining: false,
        inboxHealthy: true,
        lost: false,
        firstSeenMs: nowMs,
      };
      this.executors.set(id, record);
    }
    return record;
  }

  get(id: string): ExecutorRecord | undefined {
    return this.executors.get(id);
  }

  ids(): string[] {
    return [...this.executors.keys()];
  }

  all(): IterableIterator<ExecutorRecord> {
    return this.executors.values();
  }

  /**
   * Records the sequence read from an executor's alive key. Returns true when an executor that
   * was declared lost shows signs of life again.
   */
  observeSeq(id: string, seq: string, nowMs: number): boolean {
    const record = this.see(id, nowMs);
    if (seq === record.seq) return false;
    record.seq = seq;
    record.seqMovedAtMs = nowMs;
    if (!record.lost) return false;
    record.lost = false;
    return true;
  }

  /** Live executors whose sequence has not moved for longer than `timeoutMs`. */
  silent(nowMs: number, timeoutMs: number): ExecutorRecord[] {
    return [...this.executors.values()].filter((r) => !r.lost && nowMs - r.seqMovedAtMs > timeoutMs);
  }

  markLost(id: string): void {
    const record = this.executors.get(id);
    if (!record) return;
    record.lost = true;
    record.declined = false;
    record.used = EMPTY;
    record.running = 0;
  }

  /** Forgets an executor that left on purpose (unregistered) or has been gone for long. */
  remove(id: string): void {
    this.executors.delete(id);
  }

  markDeclined(id: string): void {
    const record = this.executors.get(id);
    if (record) record.declined = true;
  }

  hasDeclined(): boolean {
    for (const record of this.executors.values()) if (record.declined && !record.lost) return true;
    return false;
  }

  /** Executors to revive; clears their declined mark. */
  takeDeclined(): string[] {
    const ids: string[] = [];
    for (const record of this.executors.values()) {
      if (record.declined && !record.lost) {
        record.declined = false;
        ids.push(record.id);
      }
    }
    return ids;
  }

  live(): ExecutorRecord[] {
    return [...this.executors.values()].filter((r) => !r.lost);
  }
}
