/**
 * Task status updates -> job outcomes. An update is acknowledged only after its effect is
 * written: if BullMQ cannot be updated, the handler throws, the inbox delivers the batch again
 * and the executor keeps re-sending, so a result is never dropped.
 *
 * The BullMQ lock is the truth about who owns a job: an update for a task this leader does not
 * know (launched by a previous leader, or settled and forgotten) is applied when its token
 * still holds the job's lock (or can take it back, the lock having merely expired), and dropped
 * otherwise. Running tasks nobody knows are reconciled: adopted or killed.
 */
import { isTerminal, type ItemStatus, type TaskStatus } from '../protocol/types.js';
import { sourceHost } from './host-circuits.js';
import { settleRun, type LeaderContext } from './leader-context.js';
import type { LedgerItem, LedgerTask } from './task-ledger.js';

export interface StatusHooks {
  /** Asks an executor to report these tasks (explicit reconciliation). */
  reconcile(executorId: string, taskIds: string[]): void;
  /** Service tasks are the service keeper's. */
  serviceUpdate(task: LedgerTask, status: TaskStatus): Promise<void>;
  /** Job ids a user cancelled. */
  isCancelled(jobId: string): Promise<boolean>;
}

export class StatusHandler {
  constructor(
    private readonly ctx: LeaderContext,
    private readonly hooks: StatusHooks,
  ) {}

  /** `superseded`: the same batch holds this task's terminal update, so progress is not worth writing. */
  async handle(status: TaskStatus, superseded: boolean): Promise<void> {
    const ctx = this.ctx;
    const task = ctx.ledger.get(status.taskId);
    if (!task) return this.orphan(status);
    if (status.executorId !== task.executorId) {
      ctx.log.warn('update from an executor that does not run the task ignored', { task: status.taskId, from: status.executorId, runsOn: task.executorId });
      return;
    }
    if (status.uuid !== undefined) {
      if (task.seenUuids.has(status.uuid)) return this.ack(status);
      // Marked before any await: a re-sent copy in the same batch is handled concurrently.
      task.seenUuids.add(status.uuid);
    }
    try {
      if (task.info.service) await this.hooks.serviceUpdate(task, status);
      else if (!(superseded && !isTerminal(status.state))) await this.settleItems(task, status);
    } catch (err) {
      if (status.uuid !== undefined) task.seenUuids.delete(status.uuid);
      throw err;
    }
    task.state = status.state;
    task.stage = status.stage;
    this.ack(status);
  }

  private async settleItems(task: LedgerTask, status: TaskStatus): Promise<void> {
    const reported = new Set<string>();
    await Promise.all(
      status.items.map(async (s) => {
        reported.add(s.token);
        const item = task.items.get(s.token);
        if (!item) return; // settled already (a duplicate)
        if (!isTerminal(s.state) && item.state === s.state && item.stage === s.stage) return;
        await settleRun(this.ctx, task, item, s);
      }),
    );
    if (!isTerminal(status.state)) return;
    // A terminal task settles every run it did not report on its own, with the task's outcome.
    for (const item of [...task.items.values()]) {
      if (reported.has(item.token)) continue;
      await settleRun(this.ctx, task, item, { state: status.state, stage: item.stage, reason: status.reason, message: status.message });
    }
    this.ctx.ledger.forget(task.taskId);
  }

  /** An update for a task this leader does not hold. */
  private async orphan(status: TaskStatus): Promise<void> {
    const unknownRunning: string[] = [];
    for (const s of status.items) {
      if (isTerminal(s.state)) await this.settleOrphanRun(status.executorId, s);
      else unknownRunning.push(s.token);
    }
    if (!isTerminal(status.state) && (unknownRunning.length > 0 || status.items.length === 0)) {
      this.hooks.reconcile(status.executorId, [status.taskId]);
    }
    this.ctx.log.debug('update for a task this leader did not launch', { task: status.taskId, state: status.state });
    this.ack(status);
  }

  /** Applies a finished run's outcome when its token still holds (or can retake) the job's lock. */
  private async settleOrphanRun(executorId: string, s: ItemStatus): Promise<void> {
    const ctx = this.ctx;
    const lost = await ctx.queue.keepLocks([{ jobId: s.jobId, token: s.token }], ctx.opts.lockDurationMs);
    if (lost.length > 0) return;
    const job = await ctx.queue.fetch(s.jobId);
    if (!job) return;
    const item: LedgerItem = {
      token: s.token,
      jobId: s.jobId,
      job,
      sourceUrl: job.data.url,
      host: sourceHost(job.data.url),
      state: s.state,
      stage: s.stage,
      cancelled: await this.hooks.isCancelled(s.jobId),
      probe: false,
    };
    const task: LedgerTask = {
      taskId: s.token,
      executorId,
      info: { taskId: s.token, name: '', executorId, resources: { cpus: 0, memMb: 0, ports: [] }, images: [] },
      launchedAtMs: ctx.now(),
      adopted: true,
      state: s.state,
      stage: s.stage,
      healthy: undefined,
      items: new Map([[s.token, item]]),
      seenUuids: new Set(),
    };
    ctx.log.info('applying the outcome of a run launched by an earlier leader', { job: s.jobId, token: s.token, state: s.state });
    await settleRun(ctx, task, item, s);
  }

  private ack(status: TaskStatus): void {
    if (status.uuid !== undefined) this.ctx.send(status.executorId, { kind: 'acknowledge', taskId: status.taskId, uuid: status.uuid });
  }
}
