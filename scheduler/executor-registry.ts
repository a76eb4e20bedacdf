/**
 * What the scheduler knows about executors: when each was last heard from, its total
 * resources, and whether it has been told to stop offering (declined with a refuse period)
 * and so must be revived when work arrives. Pure state, driven by the scheduler's clock.
 */
import type { Resources } from '../protocol/types.js';

export interface ExecutorRecord {
  id: string;
  hostname: string;
  total?: Resources;
  lastSeenMs: number;
  declined: boolean;
  warnedNeverFits: boolean;
}

export class ExecutorRegistry {
  private readonly executors = new Map<string, ExecutorRecord>();

  /** Any message counts as a sign of life; unknown senders are added (e.g. after a scheduler restart). */
  touch(id: string, nowMs: number): ExecutorRecord {
    let record = this.executors.get(id);
    if (!record) {
      record = { id, hostname: '', lastSeenMs: nowMs, declined: false, warnedNeverFits: false };
      this.executors.set(id, record);
    }
    record.lastSeenMs = Math.max(record.lastSeenMs, nowMs);
    return record;
  }

  register(id: string, hostname: string, total: Resources, nowMs: number): ExecutorRecord {
    const record = this.touch(id, nowMs);
    record.hostname = hostname;
    record.total = total;
    record.declined = false;
    record.warnedNeverFits = false;
    return record;
  }

  remove(id: string): void {
    this.executors.delete(id);
  }

  markDeclined(id: string): void {
    const record = this.executors.get(id);
    if (record) record.declined = true;
  }

  hasDeclined(): boolean {
    for (const record of this.executors.values()) if (record.declined) return true;
    return false;
  }

  /** Executors to revive; clears their declined mark. */
  takeDeclined(): string[] {
    const ids: string[] = [];
    for (const record of this.executors.values()) {
      if (record.declined) {
        record.declined = false;
        ids.push(record.id);
      }
    }
    return ids;
  }

  /** Executors silent for longer than `timeoutMs`. */
  silentSince(nowMs: number, timeoutMs: number): string[] {
    return [...this.executors.values()].filter((r) => nowMs - r.lastSeenMs > timeoutMs).map((r) => r.id);
  }
}
