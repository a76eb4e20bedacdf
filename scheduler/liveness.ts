/**
 * Executor liveness and the sweep for jobs nobody holds.
 *
 * Liveness: each executor bumps a sequence number in its alive key with every heartbeat; the
 * leader polls the keys and declares an executor lost when its sequence has not moved for
 * EXECUTOR_TIMEOUT_MS of the leader's own clock. A poll that fails (Redis away) judges nobody,
 * and the clock restarts once polls succeed again. An executor that comes back after being
 * declared lost is asked to reconcile, so whatever it still runs of the given-up tasks is killed.
 *
 * Sweep: an active job that no run of this leader holds and whose lock has expired belongs to
 * nobody (its leader died, or its lock lapsed): it goes back to the queue at once.
 */
import { describeError } from '../common/errors.js';
import { giveUpTask, type LeaderContext } from './leader-context.js';
import type { ParkedJob } from './offer-responder.js';

export interface AlivePort {
  /** Executor ids that have announced themselves. */
  knownExecutors(): Promise<string[]>;
  /** Forgets executors that are gone (their alive key expired). */
  forgetExecutors(ids: string[]): Promise<void>;
  /** The value of each executor's alive key, "<bootId>:<seq>" (missing when the key is gone). */
  readSeqs(ids: readonly string[]): Promise<Map<string, string>>;
}

export class Liveness {
  private lastPollOkMs: number;
  private polling = false;
  private sweeping = false;

  constructor(
    private readonly ctx: LeaderContext,
    private readonly alive: AlivePort,
    private readonly parked: Map<string, ParkedJob>,
    private readonly onReturn: (executorId: string) => void,
  ) {
    this.lastPollOkMs = ctx.now();
  }

  /** Live executors at takeover: those whose alive key exists. The others are forgotten. */
  async discover(): Promise<string[]> {
    const ids = await this.alive.knownExecutors();
    const seqs = await this.alive.readSeqs(ids);
    const now = this.ctx.now();
    for (const [id, seq] of seqs) this.ctx.registry.observeSeq(id, seq, now);
    const gone = ids.filter((id) => !seqs.has(id));
    if (gone.length > 0) await this.alive.forgetExecutors(gone);
    return [...seqs.keys()];
  }

  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    const ctx = this.ctx;
    try {
      const ids = ctx.registry.ids();
      const seqs = await this.alive.readSeqs(ids);
      const now = ctx.now();
      if (now - this.lastPollOkMs > ctx.opts.executorTimeoutMs / 2) {
        // We could not look for a while: nobody's silence can be judged from that gap.
        for (const record of ctx.registry.all()) record.seqMovedAtMs = now;
      }
      this.lastPollOkMs = now;
      for (const [id, seq] of seqs) {
        if (ctx.registry.observeSeq(id, seq, now)) {
          ctx.log.warn('executor declared lost is alive again; reconciling it', { executor: id });
          this.onReturn(id);
        }
      }
      for (const record of ctx.registry.silent(now, ctx.opts.executorTimeoutMs)) {
        ctx.registry.markLost(record.id);
        const tasks = ctx.ledger.tasksOn(record.id);
        ctx.log.warn('executor stopped heartbeating; its tasks are lost', { executor: record.id, tasks: tasks.length });
        for (const task of tasks) {
          await giveUpTask(ctx, task, 'TASK_LOST', 'EXECUTOR_LOST', `executor ${record.id} stopped heartbeating`);
        }
      }
    } catch (err) {
      ctx.log.warn('executor liveness check failed', { error: describeError(err) });
    } finally {
      this.polling = false;
    }
  }

  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    const ctx = this.ctx;
    try {
      const ours = new Set([...ctx.ledger.items()].map(({ item }) => item.jobId));
      for (const p of this.parked.values()) ours.add(String(p.job.id));
      for (const active of await ctx.queue.activeJobs()) {
        // Lock gone: if it is one of ours, the lock keeper retakes it; otherwise nobody holds it.
        if (active.lockToken !== null || ours.has(active.id)) continue;
        if (await ctx.queue.reclaim(active.id, null)) ctx.log.info('job nobody held returned to the queue', { job: active.id });
      }
    } catch (err) {
      ctx.log.warn('sweep for orphaned jobs failed', { error: describeError(err) });
    } finally {
      this.sweeping = false;
    }
  }
}
