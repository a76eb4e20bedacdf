/**
 * Rebuilding the task table after a failover, following Mesos's reconciliation.
 *
 * What survives a leader is BullMQ's active jobs with their lock tokens (a run's token is its
 * lock value) and what executors run. At takeover the new leader asks every live executor to
 * reconcile, naming the tokens of all active jobs (explicit); each executor answers with every
 * task it has (implicit), running or finished but unacknowledged. A run whose token still holds
 * its job's lock (or can retake an expired one) is adopted and keeps running; a finished one
 * has its outcome applied; anything else is killed. When every live executor has answered, or
 * the reconcile timeout passes, active jobs that nobody adopted go back to the queue at once.
 *
 * Reports arriving later (a slow executor, or one asked about an unknown task it listed in a
 * heartbeat) go through the same rules.
 */
import { inBackground } from '../common/background.js';
import { describeError } from '../common/errors.js';
import { isTerminal, type TaskReport } from '../protocol/types.js';
import { sourceHost } from './host-circuits.js';
import type { ActiveJob } from './job-queue.js';
import { settleRun, type LeaderContext } from './leader-context.js';
import type { LedgerItem, LedgerTask } from './task-ledger.js';

export interface ReconcileHooks {
  /** Service tasks are adopted (or killed) against the services' desired state. */
  adoptService(executorId: string, report: TaskReport): Promise<boolean>;
  isCancelled(jobId: string): Promise<boolean>;
}

export class Reconciler {
  private waitingFor = new Set<string>();
  private snapshot: ActiveJob[] = [];
  private finishTimer: NodeJS.Timeout | undefined;
  private resolveFinished: () => void = () => undefined;
  /** Resolves when the takeover reconciliation is complete. */
  readonly finished: Promise<void> = new Promise((resolve) => (this.resolveFinished = resolve));
  /** Runs adopted from executors' reports during this term. */
  adopted = 0;
  /** Explicit reconcile requests sent recently, by task id: not repeated within a few seconds. */
  private readonly asked = new Map<string, number>();
  done = false;

  constructor(
    private readonly ctx: LeaderContext,
    private readonly hooks: ReconcileHooks,
  ) {}

  /** Starts the takeover reconciliation: asks every live executor; `finished` tells when it is complete. */
  async begin(liveExecutors: string[]): Promise<void> {
    const ctx = this.ctx;
    this.snapshot = await ctx.queue.activeJobs();
    const tokens = this.snapshot.flatMap((a) => (a.lockToken ? [a.lockToken] : []));
    this.waitingFor = new Set(liveExecutors);
    ctx.log.info('reconciling', { activeJobs: this.snapshot.length, executors: liveExecutors.length });
    for (const id of liveExecutors) ctx.send(id, { kind: 'reconcile', taskIds: tokens });
    this.finishTimer = setTimeout(() => inBackground(ctx.log, 'ending reconciliation', () => this.finish('timeout')), ctx.opts.reconcileTimeoutMs);
    if (this.waitingFor.size === 0) await this.finish('no executors');
  }

  /** Asks one executor about some tasks (explicit), or, with no ids, about everything it has (implicit). */
  ask(executorId: string, taskIds: string[]): void {
    const now = this.ctx.now();
    const keys = taskIds.length === 0 ? [`*${executorId}`] : taskIds;
    const fresh = keys.filter((id) => now - (this.asked.get(id) ?? 0) > 5_000);
    if (fresh.length === 0) return;
    for (const id of fresh) this.asked.set(id, now);
    if (this.asked.size > 10_000) for (const [id, at] of this.asked) if (now - at > 60_000) this.asked.delete(id);
    this.ctx.send(executorId, { kind: 'reconcile', taskIds: taskIds.length === 0 ? [] : fresh });
  }

  /**
   * An executor's answer. Only one written for this term (or a later one) counts as its answer
   * to the takeover: an older one, left unread by a dead leader, may predate runs launched since.
   */
  async handleReport(executorId: string, reports: TaskReport[], answerEpoch: number): Promise<void> {
    for (const report of reports) {
      try {
        if (report.info.service) {
          if (!(await this.hooks.adoptService(executorId, report))) this.kill(executorId, report.info.taskId, 'no such service instance is wanted');
        } else {
          await this.adoptImages(executorId, report);
        }
      } catch (err) {
        // Left for the next report or heartbeat: adopting must not fail the whole answer.
        this.ctx.log.warn('could not reconcile a task', { executor: executorId, task: report.info.taskId, error: describeError(err) });
      }
    }
    if (answerEpoch >= this.ctx.epoch && this.waitingFor.delete(executorId) && this.waitingFor.size === 0) inBackground(this.ctx.log, 'ending reconciliation', () => this.finish('all executors answered'));
  }

  private async adoptImages(executorId: string, report: TaskReport): Promise<void> {
    const ctx = this.ctx;
    const { info, status } = report;
    if (ctx.ledger.get(info.taskId)) return; // already known (launched by this leader)
    const statusOf = new Map(status.items.map((s) => [s.token, s]));
    const task: LedgerTask = {
      taskId: info.taskId,
      executorId,
      info,
      launchedAtMs: ctx.now(),
      adopted: true,
      state: status.state,
      stage: status.stage,
      healthy: undefined,
      items: new Map(),
      seenUuids: new Set(),
    };
    const claims = info.images.map((i) => ({ jobId: i.jobId, token: i.token }));
    const lost = new Set(await ctx.queue.keepLocks(claims, ctx.opts.lockDurationMs));
    for (const image of info.images) {
      const s = statusOf.get(image.token);
      if (lost.has(image.token)) {
        if (!s || !isTerminal(s.state)) this.kill(executorId, image.token, 'its job is no longer held by this run');
        continue;
      }
      const job = await ctx.queue.fetch(image.jobId);
      if (!job) continue;
      const item: LedgerItem = {
        token: image.token,
        jobId: image.jobId,
        job,
        sourceUrl: image.sourceUrl,
        host: sourceHost(image.sourceUrl),
        state: s?.state ?? status.state,
        stage: s?.stage ?? 'none',
        cancelled: await this.hooks.isCancelled(image.jobId),
        probe: false,
      };
      task.items.set(item.token, item);
    }
    if (task.items.size === 0) return;
    ctx.ledger.add(task);
    this.adopted += task.items.size;
    ctx.log.info('adopted a running task', { executor: executorId, task: task.taskId, runs: task.items.size });
    // Outcomes the executor already has (finished, awaiting our acknowledgement) apply now.
    for (const s of status.items) {
      const item = task.items.get(s.token);
      if (item && isTerminal(s.state)) await settleRun(ctx, task, item, s);
    }
    if (isTerminal(status.state)) {
      ctx.ledger.forget(task.taskId);
      if (status.uuid !== undefined) ctx.send(executorId, { kind: 'acknowledge', taskId: status.taskId, uuid: status.uuid });
    } else if (task.items.size === 0) {
      ctx.ledger.forget(task.taskId);
    }
  }

  private kill(executorId: string, taskId: string, why: string): void {
    this.ctx.log.warn('killing a task nobody can adopt', { executor: executorId, task: taskId, why });
    this.ctx.send(executorId, { kind: 'kill', taskId, reason: 'TASK_KILLED' });
  }

  /** Active jobs of the takeover snapshot that no run was adopted for go back to the queue now. */
  private async finish(why: string): Promise<void> {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.finishTimer);
    const ctx = this.ctx;
    let requeued = 0;
    const ours = new Set([...ctx.ledger.items()].map(({ item }) => item.jobId));
    for (const active of this.snapshot) {
      if (ours.has(active.id)) continue; // adopted (its lock retaken, if it had expired)
      try {
        // Only under the lock the snapshot saw: a job someone took since is left alone.
        if (await ctx.queue.reclaim(active.id, active.lockToken)) requeued++;
      } catch (err) {
        ctx.log.warn('could not return an orphaned job to the queue', { job: active.id, error: describeError(err) });
      }
    }
    ctx.log.info('reconciled', {
      why,
      adopted: this.adopted,
      requeued,
      unanswered: [...this.waitingFor].join(',') || undefined,
    });
    this.snapshot = [];
    this.resolveFinished();
  }

  stop(): void {
    clearTimeout(this.finishTimer);
    this.done = true;
    this.resolveFinished();
  }
}
