/**
 * Terminal updates the scheduler has not acknowledged yet: re-sent until it does (Mesos's
 * status update retry), listed in heartbeats, and reported to a new leader's Reconcile.
 */
import type { TaskInfo, TaskReport, TaskStatus } from '../protocol/types.js';

interface Unacked {
  status: TaskStatus;
  info: TaskInfo;
  sentAtMs: number;
}

export class UnackedUpdates {
  private readonly byUuid = new Map<string, Unacked>();

  add(status: TaskStatus & { uuid: string }, info: TaskInfo, nowMs: number): void {
    this.byUuid.set(status.uuid, { status, info, sentAtMs: nowMs });
  }

  ack(uuid: string): void {
    this.byUuid.delete(uuid);
  }

  /** Updates not acknowledged within `resendMs`; marks them sent now. */
  due(nowMs: number, resendMs: number): TaskStatus[] {
    const out: TaskStatus[] = [];
    for (const entry of this.byUuid.values()) {
      if (nowMs - entry.sentAtMs < resendMs) continue;
      entry.sentAtMs = nowMs;
      out.push(entry.status);
    }
    return out;
  }

  taskIds(): string[] {
    return [...this.byUuid.values()].map((u) => u.status.taskId);
  }

  reports(): TaskReport[] {
    return [...this.byUuid.values()].map((u) => ({ info: u.info, status: u.status }));
  }

  get size(): number {
    return this.byUuid.size;
  }
}
