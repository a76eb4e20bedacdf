/**
 * The framework scheduler: answers executors' offers with tasks drained from the BullMQ queue
 * (or declines them), turns task statuses into job outcomes, keeps job locks alive while tasks
 * run, and marks the tasks of silent executors LOST so their jobs are retried.
 *
 * Events are handed in one at a time (the inbox is sequential), so handlers never interleave.
 */
import { randomUUID } from 'node:crypto';
import { describeError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { formatResources } from '../protocol/resources.js';
import { isTerminal, type ExecutorEvent, type Offer, type SchedulerCall, type TaskInfo, type TaskState, type TaskStatus } from '../protocol/types.js';
import { ExecutorRegistry } from './executor-registry.js';
import { applyJobAction } from './apply-job-action.js';
import type { JobQueue, QueuedJob } from './job-queue.js';
import { neverFits, planLaunch, tasksThatFit, type TaskDemand } from './offer-matching.js';
import { statusToJobAction, type JobAction } from './status-to-job.js';
import { validateJobData } from './validate-job.js';

export interface SchedulerBus {
  /** Delivers calls to one executor's inbox, in order. */
  send(executorId: string, calls: SchedulerCall[]): Promise<void>;
  /** Called on signs of life, so the executor's inbox does not expire while it is alive. */
  keepInbox(executorId: string): Promise<void>;
}

export interface SchedulerOptions {
  uploadUrl: string;
  task: TaskDemand;
  maxTasksPerOffer: number;
  refuseSeconds: number;
  lockDurationMs: number;
  executorTimeoutMs: number;
  shutdownGraceMs: number;
  revivePollMs: number;
}

interface ActiveTask {
  info: TaskInfo;
  launchedAtMs: number;
  job: QueuedJob;
  token: string;
  state: TaskState;
  seenUuids: Set<string>;
}

export class Scheduler {
  private readonly tasks = new Map<string, ActiveTask>();
  private readonly registry = new ExecutorRegistry();
  private draining = false;
  private timers: NodeJS.Timeout[] = [];
  private revivePolling = false;
  /** While a batch is handled, calls are collected here and sent together at its end. */
  private outbox: Map<string, SchedulerCall[]> | undefined;

  constructor(
    private readonly queue: JobQueue,
    private readonly bus: SchedulerBus,
    private readonly opts: SchedulerOptions,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.timers.push(
      setInterval(() => void this.reviveIfWork(), this.opts.revivePollMs),
      setInterval(() => void this.extendLocks(), Math.max(500, this.opts.lockDurationMs / 3)),
      setInterval(() => void this.checkExecutors(), Math.max(200, Math.min(1000, this.opts.executorTimeoutMs / 4))),
    );
  }

  get activeTasks(): number {
    return this.tasks.size;
  }

  /**
   * Handles one inbox batch in order. A RUNNING update followed in the same batch by the task's
   * terminal update is skipped: its progress would be overwritten at once.
   */
  async handleEvents(events: ExecutorEvent[]): Promise<void> {
    const ending = new Set(events.flatMap((e) => (e.kind === 'update' && isTerminal(e.status.state) ? [e.status.taskId] : [])));
    this.outbox = new Map();
    try {
      // Updates of different tasks are independent: handled together, their Redis calls share
      // round trips. Everything else keeps its order relative to them.
      let updates: Promise<void>[] = [];
      for (const event of events) {
        if (event.kind === 'update') {
          this.registry.touch(event.executorId, this.now());
          if (!isTerminal(event.status.state) && ending.has(event.status.taskId)) continue;
          updates.push(this.handleUpdate(event.status));
          continue;
        }
        await Promise.all(updates);
        updates = [];
        await this.handleEvent(event);
      }
      await Promise.all(updates);
    } finally {
      // Sent even when handling failed half-way: launched tasks must reach their executor.
      const outbox = this.outbox;
      this.outbox = undefined;
      await Promise.all([...outbox].map(([executorId, calls]) => this.bus.send(executorId, calls)));
    }
  }

  private async send(executorId: string, call: SchedulerCall): Promise<void> {
    if (this.outbox) {
      const calls = this.outbox.get(executorId) ?? [];
      calls.push(call);
      this.outbox.set(executorId, calls);
      return;
    }
    await this.bus.send(executorId, [call]);
  }

  async handleEvent(event: ExecutorEvent): Promise<void> {
    const record = this.registry.touch(event.executorId, this.now());
    switch (event.kind) {
      case 'register':
        this.registry.register(event.executorId, event.hostname, event.resources, this.now());
        await this.bus.keepInbox(event.executorId);
        this.log.info('executor registered', {
          executor: event.executorId,
          host: event.hostname,
          resources: formatResources(event.resources),
        });
        await this.reconcile(event.executorId, new Set(event.running));
        if (record.total && neverFits(record.total, this.opts.task)) {
          this.log.warn('executor can never fit a task; raise its resources or lower TASK_CPUS/TASK_MEM_MB', {
            executor: event.executorId,
          });
        }
        return;
      case 'heartbeat':
        await this.bus.keepInbox(event.executorId);
        await this.reconcileLaunches(event.executorId, new Set(event.tasks));
        return;
      case 'offer':
        return this.handleOffer(event.offer);
      case 'rescind':
        this.log.debug('offer rescinded', { executor: event.executorId, offer: event.offerId });
        return;
      case 'update':
        return this.handleUpdate(event.status);
      case 'unregister':
        this.log.info('executor unregistered', { executor: event.executorId, reason: event.reason });
        await this.loseTasksOf(event.executorId, 'EXECUTOR_SHUTDOWN', `executor ${event.executorId} left: ${event.reason}`);
        this.registry.remove(event.executorId);
        return;
    }
  }

  private async handleOffer(offer: Offer): Promise<void> {
    if (offer.expiresAtMs <= this.now()) {
      this.log.debug('expired offer ignored', { offer: offer.id });
      return;
    }
    if (this.draining) {
      await this.decline(offer, this.opts.refuseSeconds);
      return;
    }
    const fit = tasksThatFit(offer.resources, this.opts.task, this.opts.maxTasksPerOffer);
    if (fit === 0) {
      // Too small for one task: ask to hear again when more is free, not after a refuse period.
      await this.decline(offer, 0);
      return;
    }
    // All fetches at once: they share a round trip, and surplus ones simply come back empty.
    // allSettled, not all: a job already moved to active under its token must still be launched
    // (or failed) even if a sibling fetch failed, or it would sit locked until it stalls.
    const tokens = Array.from({ length: fit }, () => `task-${randomUUID()}`);
    const fetched = await Promise.allSettled(tokens.map((token) => this.queue.take(token)));
    const taken: { job: QueuedJob; token: string }[] = [];
    for (const [i, result] of fetched.entries()) {
      if (result.status === 'rejected') {
        this.log.warn('fetching a job failed', { offer: offer.id, error: describeError(result.reason) });
        continue;
      }
      const job = result.value;
      const token = tokens[i]!;
      if (!job) continue;
      const problem = validateJobData(job.data);
      if (problem) {
        this.log.warn('job has invalid data; failed without retry', { job: job.id, problem });
        await applyJobAction(this.queue, this.log, job, token, { kind: 'fail', reason: 'INVALID_TASK', message: `INVALID_TASK: ${problem}` });
        continue;
      }
      taken.push({ job, token });
    }
    if (taken.length === 0) {
      await this.decline(offer, this.opts.refuseSeconds);
      this.registry.markDeclined(offer.executorId);
      return;
    }
    const slices = planLaunch(offer.resources, this.opts.task, taken.length);
    const infos: TaskInfo[] = taken.map(({ job, token }, i) => {
      const info: TaskInfo = {
        taskId: token,
        name: `invert job ${job.id}`,
        executorId: offer.executorId,
        jobId: String(job.id),
        sourceUrl: job.data.url,
        upload: { url: this.opts.uploadUrl, name: job.data.output },
        resources: slices[i] ?? { cpus: 0, memMb: 0, ports: [] },
        attempt: job.attemptsMade + 1,
      };
      this.tasks.set(token, { info, job, token, launchedAtMs: this.now(), state: 'TASK_STAGING', seenUuids: new Set() });
      return info;
    });
    await this.send(offer.executorId, { kind: 'launch', offerId: offer.id, tasks: infos });
    this.log.debug('launched', { executor: offer.executorId, offer: offer.id, tasks: infos.length });
  }

  private async decline(offer: Offer, refuseSeconds: number): Promise<void> {
    await this.send(offer.executorId, { kind: 'decline', offerId: offer.id, refuseSeconds });
  }

  private async handleUpdate(status: TaskStatus): Promise<void> {
    const task = this.tasks.get(status.taskId);
    const ack = async () => {
      if (status.uuid) await this.send(status.executorId, { kind: 'acknowledge', taskId: status.taskId, uuid: status.uuid });
    };
    if (!task) {
      // Already settled (a duplicate), or launched by a previous scheduler whose job BullMQ reclaimed.
      this.log.debug('update for unknown task ignored', { task: status.taskId, state: status.state });
      await ack();
      return;
    }
    if (status.executorId !== task.info.executorId) {
      this.log.warn('update from an executor that does not run the task ignored', {
        task: status.taskId,
        from: status.executorId,
        runsOn: task.info.executorId,
      });
      return;
    }
    if (status.uuid && task.seenUuids.has(status.uuid)) {
      await ack();
      return;
    }
    if (status.uuid) task.seenUuids.add(status.uuid);
    task.state = status.state;
    await this.apply(status.taskId, statusToJobAction(status, task.info));
    await ack();
  }

  /** Applies a job action for an active task; terminal actions forget the task. */
  private async apply(taskId: string, action: JobAction): Promise<void> {
    const task = this.tasks.get(taskId);
    if (!task) return;
    if (action.kind !== 'progress') this.tasks.delete(taskId);
    await applyJobAction(this.queue, this.log, task.job, task.token, action, task.info.executorId);
  }

  /** Tasks the scheduler thinks run on `executorId` that the executor does not report are LOST. */
  private async reconcile(executorId: string, running: ReadonlySet<string>): Promise<void> {
    const gone = [...this.tasks.values()].filter((t) => t.info.executorId === executorId && !running.has(t.token));
    for (const task of gone) {
      await this.lose(task, 'EXECUTOR_LOST', `executor ${executorId} restarted`);
    }
  }

  /**
   * A task launched on `executorId` well before this heartbeat that the executor does not know
   * never reached it (its launch was lost): the job goes back to the queue, no attempt spent.
   */
  private async reconcileLaunches(executorId: string, known: ReadonlySet<string>): Promise<void> {
    const graceMs = Math.max(5_000, this.opts.executorTimeoutMs);
    const lost = [...this.tasks.values()].filter(
      (t) => t.info.executorId === executorId && !known.has(t.token) && this.now() - t.launchedAtMs > graceMs,
    );
    for (const task of lost) {
      this.log.warn('launched task unknown to its executor; requeued', { task: task.token, job: task.job.id, executor: executorId });
      await this.apply(task.token, { kind: 'requeue', reason: 'INVALID_OFFER', message: 'INVALID_OFFER: the launch never reached the executor' });
    }
  }

  private async loseTasksOf(executorId: string, reason: 'EXECUTOR_LOST' | 'EXECUTOR_SHUTDOWN', message: string) {
    const tasks = [...this.tasks.values()].filter((t) => t.info.executorId === executorId);
    for (const task of tasks) await this.lose(task, reason, message);
    return tasks.length;
  }

  private async lose(task: ActiveTask, reason: 'EXECUTOR_LOST' | 'EXECUTOR_SHUTDOWN', message: string): Promise<void> {
    const status: TaskStatus = {
      taskId: task.token,
      jobId: task.info.jobId,
      executorId: task.info.executorId,
      state: 'TASK_LOST',
      stage: 'none',
      reason,
      retryable: true,
      message,
      timestamp: this.now() / 1000,
    };
    // statusToJobAction decides: a task lost to a shutdown is requeued without spending an attempt.
    await this.apply(task.token, statusToJobAction(status, task.info));
  }

  /** Marks the tasks of executors silent for too long LOST. Run periodically by start(). */
  async checkExecutors(): Promise<void> {
    for (const id of this.registry.silentSince(this.now(), this.opts.executorTimeoutMs)) {
      this.registry.remove(id);
      try {
        const lost = await this.loseTasksOf(id, 'EXECUTOR_LOST', `executor ${id} stopped heartbeating`);
        this.log.warn('executor stopped heartbeating', { executor: id, tasksLost: lost });
      } catch (err) {
        this.log.error('could not mark tasks lost', { executor: id, error: describeError(err) });
      }
    }
  }

  private async extendLocks(): Promise<void> {
    const tasks = [...this.tasks.values()];
    await Promise.all(
      tasks.map(async (task) => {
        try {
          if (await this.queue.extendLock(task.job, task.token, this.opts.lockDurationMs)) return;
          // BullMQ took the job back (stalled): stop the task so it does not race the retry.
          this.tasks.delete(task.token);
          this.log.warn('job lock lost; killing its task', { job: task.job.id, task: task.token });
          await this.send(task.info.executorId, { kind: 'kill', taskId: task.token });
        } catch (err) {
          this.log.warn('lock extension failed', { job: task.job.id, error: describeError(err) });
        }
      }),
    );
  }

  /**
   * Revives declined executors once runnable jobs exist. Polled (one cheap count, and only
   * while some executor is declined) rather than following the queue's event stream, which
   * would cost the scheduler a parse of every event of every job.
   */
  async reviveIfWork(): Promise<void> {
    if (this.draining || this.revivePolling || !this.registry.hasDeclined()) return;
    this.revivePolling = true;
    try {
      if (!(await this.queue.hasRunnableJobs(this.now()))) return;
      for (const id of this.registry.takeDeclined()) await this.send(id, { kind: 'revive' });
    } catch (err) {
      this.log.warn('revive check failed', { error: describeError(err) });
    } finally {
      this.revivePolling = false;
    }
  }

  /**
   * Stops launching, waits up to the grace period for running tasks to report, then hands the
   * remaining jobs back to the queue (and tells executors to kill those tasks).
   */
  async drain(): Promise<void> {
    this.draining = true;
    const deadline = this.now() + this.opts.shutdownGraceMs;
    while (this.tasks.size > 0 && this.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const task of [...this.tasks.values()]) {
      this.tasks.delete(task.token);
      await this.send(task.info.executorId, { kind: 'kill', taskId: task.token }).catch(() => undefined);
      await applyJobAction(this.queue, this.log, task.job, task.token, { kind: 'requeue', reason: 'TASK_KILLED', message: 'scheduler shutting down' }).catch(
        (err) => this.log.warn('could not requeue job on shutdown', { job: task.job.id, error: describeError(err) }),
      );
    }
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }
}
