/**
 * Keeps the BullMQ locks of every run the leader holds (running or parked), in one script call
 * per round. A run whose job is no longer its own (taken back while this leader could not
 * reach Redis for longer than the lock, or settled elsewhere) is killed, so it does not race
 * the job's next run.
 */
import { describeError } from '../common/errors.js';
import type { LeaderContext } from './leader-context.js';
import type { ParkedJob } from './offer-responder.js';

export class LockKeeper {
  private running = false;

  constructor(
    private readonly ctx: LeaderContext,
    private readonly parked: Map<string, ParkedJob>,
  ) {}

  async keep(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const ctx = this.ctx;
    try {
      const runs = [...ctx.ledger.items()].map(({ item }) => ({ jobId: item.jobId, token: item.token }));
      for (const p of this.parked.values()) runs.push({ jobId: String(p.job.id), token: p.token });
      const lost = await ctx.queue.keepLocks(runs, ctx.opts.lockDurationMs);
      for (const token of lost) {
        if (this.parked.delete(token)) continue;
        const found = ctx.ledger.byToken(token);
        if (!found) continue;
        if (found.item.settling) continue; // its outcome is being written: that is why the lock went
        ctx.log.warn('job lock lost; killing its run', { job: found.item.jobId, task: found.task.taskId, token });
        if (found.item.probe) ctx.circuits.probeAbandoned(found.item.host);
        ctx.ledger.removeItem(token);
        ctx.send(found.task.executorId, { kind: 'kill', taskId: token, reason: 'TASK_KILLED' });
      }
    } catch (err) {
      ctx.log.warn('keeping job locks failed; will try again', { error: describeError(err) });
    } finally {
      this.running = false;
    }
  }
}
