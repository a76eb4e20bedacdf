/**
 * What the parts of a leading scheduler share during one leadership term: the ports to
 * BullMQ and to executors, the pure state (ledger, registry, circuits), and the few rules every
 * part applies the same way: how an image run is settled, and how a task is given up.
 */
import { describeError, type ErrorCode } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { SchedulerCall, TaskState } from '../protocol/types.js';
import { applyJobAction, type AppliedOutcome } from './apply-job-action.js';
import type { ExecutorRegistry } from './executor-registry.js';
import type { HostCircuits } from './host-circuits.js';
import type { JobQueue } from './job-queue.js';
import type { TaskDemand } from './offer-matching.js';
import { applyCircuit } from './outcome-policy.js';
import { statusToJobAction, type JobAction, type RunOutcome } from './status-to-job.js';
import type { LedgerItem, LedgerTask, TaskLedger } from './task-ledger.js';
import type { SizerOptions, TaskSizer } from './task-sizer.js';

export interface LeaderOptions {
  task: TaskDemand;
  maxTasksPerOffer: number;
  refuseSeconds: number;
  lockDurationMs: number;
  executorTimeoutMs: number;
  revivePollMs: number;
  reconcileTimeoutMs: number;
  /** How often active jobs that nobody holds are returned to the queue. */
  sweepIntervalMs: number;
  /** Image runs at once against one source host. */
  hostMaxConcurrency: number;
  /** At most this share of an executor's cpus and memory goes to service instances. */
  serviceShare: number;
  /** A missing service instance waits this long for an executor without one before doubling up. */
  serviceSpreadWaitMs: number;
  /** Images one task carries at most, and how long a task should last (see task-sizer.ts). */
  taskImages: SizerOptions;
}

export interface OutcomeRecord {
  jobId: string;
  url: string;
  outcome: JobAction['kind'];
  reason?: ErrorCode;
  output?: string;
  attempt: string;
  /** The job will not run again: completed, failed for good, or a retry with no attempts left. */
  final: boolean;
  atMs: number;
}

/** The last outcomes, newest first, for status and the dashboard. */
export class RecentOutcomes {
  private readonly list: OutcomeRecord[] = [];
  constructor(private readonly max = 50) {}
  add(record: OutcomeRecord): void {
    this.list.unshift(record);
    if (this.list.length > this.max) this.list.length = this.max;
  }
  all(): readonly OutcomeRecord[] {
    return this.list;
  }
}

export interface LeaderCounters {
  offersReceived: number;
  offersAccepted: number;
  offersDeclined: number;
  tasksLaunched: number;
  itemsByOutcome: Record<string, number>;
  /** Image runs ended, by terminal state, then reason ('' for none): what /metrics reports. */
  runsEnded: Record<string, Record<string, number>>;
}

export interface LeaderContext {
  queue: JobQueue;
  ledger: TaskLedger;
  registry: ExecutorRegistry;
  circuits: HostCircuits;
  opts: Readonly<LeaderOptions>;
  log: Logger;
  now: () => number;
  /** Queues a call for an executor; calls of one batch leave together. */
  send(executorId: string, call: SchedulerCall): void;
  /** This leadership term's fencing epoch. */
  epoch: number;
  recent: RecentOutcomes;
  counters: LeaderCounters;
  sizer: TaskSizer;
}

/**
 * Settles one image run: maps its outcome to a job action (the reason table, the host's
 * circuit), applies it to the job, and forgets the run once the job no longer needs it.
 * Throws when BullMQ could not be updated: the caller must not acknowledge the update then.
 */
export async function settleRun(ctx: LeaderContext, task: LedgerTask, item: LedgerItem, outcome: RunOutcome): Promise<AppliedOutcome> {
  const run = { token: item.token, executorId: task.executorId, sourceUrl: item.sourceUrl, cancelled: item.cancelled };
  const action = applyCircuit(statusToJobAction(outcome, run), item, ctx.circuits, ctx.now());
  if (action.kind !== 'progress') item.settling = true;
  // Read before applying: BullMQ counts the attempt on the job object once it is moved.
  const attempts = item.job.opts.attempts ?? 1;
  const attempt = `${item.job.attemptsMade + (action.kind === 'retry' || action.kind === 'fail' || action.kind === 'complete' ? 1 : 0)}/${attempts}`;
  const final = action.kind === 'complete' || action.kind === 'fail' || (action.kind === 'retry' && item.job.attemptsMade + 1 >= attempts);
  let applied: AppliedOutcome;
  try {
    applied = await applyJobAction(ctx.queue, ctx.log, item.job, item.token, action, task.executorId, { state: outcome.state, stage: outcome.stage });
  } finally {
    item.settling = false;
  }
  if (action.kind === 'progress') {
    item.state = outcome.state;
    item.stage = outcome.stage;
    return applied;
  }
  ctx.ledger.removeItem(item.token);
  if (action.kind === 'complete') ctx.sizer.observe(item.host, action.result.durationMs, action.result.invertMs);
  ctx.counters.itemsByOutcome[action.kind] = (ctx.counters.itemsByOutcome[action.kind] ?? 0) + 1;
  // Nested plain objects: counting costs no allocation once a state/reason pair has been seen.
  const byReason = (ctx.counters.runsEnded[outcome.state] ??= {});
  const reason = outcome.reason ?? '';
  byReason[reason] = (byReason[reason] ?? 0) + 1;
  const record: OutcomeRecord = {
    jobId: item.jobId,
    url: item.sourceUrl,
    outcome: action.kind,
    attempt,
    final,
    atMs: ctx.now(),
  };
  if (action.kind === 'complete') record.output = action.result.name;
  else if ('reason' in action) record.reason = action.reason;
  ctx.recent.add(record);
  return applied;
}

/**
 * Gives up every unfinished image run of a task with one outcome (its executor was lost, left,
 * or never received the launch), and forgets the task. Errors are logged per run, not thrown:
 * a run whose job could not be updated keeps its lock until the sweep returns the job.
 */
export async function giveUpTask(
  ctx: LeaderContext,
  task: LedgerTask,
  state: TaskState,
  reason: ErrorCode,
  message: string,
): Promise<void> {
  for (const item of [...task.items.values()]) {
    try {
      await settleRun(ctx, task, item, { state, stage: item.stage, reason, message });
    } catch (err) {
      ctx.log.error('could not settle a run of a task given up', { task: task.taskId, job: item.jobId, error: describeError(err) });
      ctx.ledger.removeItem(item.token);
    }
  }
  ctx.ledger.forget(task.taskId);
}
