/**
 * Cancelling jobs that run. `cancel` removes waiting and delayed jobs itself and marks the
 * running ones in a Redis set; the leader polls the set and kills each one's run with reason
 * CANCELLED (the job then fails as CANCELLED, with no retry), fails a parked one at once, and
 * removes one that went back to the queue meanwhile. A job leaves the set once it is finished.
 */
import { describeError } from '../common/errors.js';
import { applyJobAction } from './apply-job-action.js';
import type { LeaderContext } from './leader-context.js';
import type { ParkedJob } from './offer-responder.js';

export interface CancelPort {
  /** Job ids a user cancelled. */
  pending(): Promise<string[]>;
  /** These need nothing more. */
  done(jobIds: string[]): Promise<void>;
}

const KILL_RESEND_MS = 10_000;

export class Cancellations {
  private polling = false;
  private readonly killSentAt = new Map<string, number>();

  constructor(
    private readonly ctx: LeaderContext,
    private readonly port: CancelPort,
    private readonly parked: Map<string, ParkedJob>,
  ) {}

  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const ids = await this.port.pending();
      if (ids.length === 0) return;
      const wanted = new Set(ids);
      const finished: string[] = [];
      const now = this.ctx.now();
      for (const { task, item } of [...this.ctx.ledger.items()]) {
        if (!wanted.has(item.jobId)) continue;
        wanted.delete(item.jobId);
        // Sent again now and then: a kill can be lost (an executor restarting, a failed write).
        const sentAt = this.killSentAt.get(item.token);
        if (sentAt !== undefined && now - sentAt < KILL_RESEND_MS) continue;
        if (!item.cancelled) this.ctx.log.info('cancelling a running job', { job: item.jobId, executor: task.executorId, task: task.taskId });
        item.cancelled = true;
        this.killSentAt.set(item.token, now);
        this.ctx.send(task.executorId, { kind: 'kill', taskId: item.token, reason: 'CANCELLED' });
      }
      for (const token of this.killSentAt.keys()) if (!this.ctx.ledger.hasToken(token)) this.killSentAt.delete(token);
      for (const p of [...this.parked.values()]) {
        if (!wanted.delete(String(p.job.id))) continue;
        this.parked.delete(p.token);
        await applyJobAction(this.ctx.queue, this.ctx.log, p.job, p.token, { kind: 'fail', reason: 'CANCELLED', message: 'CANCELLED: cancelled by a user before it ran' });
        finished.push(String(p.job.id));
      }
      for (const id of wanted) {
        const state = await this.ctx.queue.state(id);
        if (state === 'waiting' || state === 'delayed' || state === 'prioritized') {
          await this.ctx.queue.remove(id);
          finished.push(id);
        } else if (state !== 'active') finished.push(id); // completed, failed or gone
      }
      if (finished.length > 0) await this.port.done(finished);
    } catch (err) {
      this.ctx.log.warn('handling cancellations failed; will try again', { error: describeError(err) });
    } finally {
      this.polling = false;
    }
  }
}
