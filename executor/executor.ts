/**
 * The executor: registers, heartbeats, offers its free resources, runs launched tasks
 * concurrently within what it offered, and reports every task to a terminal state.
 * Terminal updates carry a uuid and are re-sent until the scheduler acknowledges them.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { describeError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { formatResources } from '../protocol/resources.js';
import type { ExecutorEvent, Resources, SchedulerCall, Stage, TaskInfo, TaskStatus } from '../protocol/types.js';
import { OfferBook } from './offer-book.js';
import { runTask, type TaskDeps, type TaskOutcome } from './run-task.js';

export type EventSender = (event: ExecutorEvent) => Promise<void>;

/** Distributes Omit over the event union so each variant keeps its own fields. */
type EventBody = ExecutorEvent extends infer E ? (E extends ExecutorEvent ? Omit<E, 'executorId' | 'sentAtMs'> : never) : never;

export interface ExecutorOptions {
  executorId: string;
  hostname: string;
  resources: Resources;
  heartbeatMs: number;
  offerTtlMs: number;
  ackResendMs: number;
  /** Intermediate RUNNING updates (stage changes) are sent at most this often per task. */
  stageUpdateMs: number;
  shutdownAckWaitMs: number;
}

interface RunningTask {
  info: TaskInfo;
  abort: AbortController;
  lastUpdateMs: number;
}

interface UnackedUpdate {
  status: TaskStatus;
  sentAtMs: number;
}

export class Executor {
  private readonly book: OfferBook;
  private readonly tasks = new Map<string, RunningTask>();
  private readonly unacked = new Map<string, UnackedUpdate>();
  /** Task ids of recent launches, so a redelivered launch is recognised. */
  private readonly launched = new Set<string>();
  private readonly bootId = randomBytes(3).toString('hex');
  private offerSeq = 0;
  private timers: NodeJS.Timeout[] = [];
  private refuseTimer: NodeJS.Timeout | undefined;
  private idle: (() => void) | undefined;

  constructor(
    private readonly emit: EventSender,
    private readonly deps: TaskDeps,
    private readonly opts: ExecutorOptions,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.book = new OfferBook(opts.resources);
  }

  get runningTasks(): number {
    return this.tasks.size;
  }

  async start(): Promise<void> {
    await this.send({ kind: 'register', hostname: this.opts.hostname, resources: this.opts.resources, running: [], pid: process.pid });
    this.log.info('executor registered', { executor: this.opts.executorId, resources: formatResources(this.opts.resources) });
    this.timers.push(
      setInterval(() => void this.heartbeat(), this.opts.heartbeatMs),
      setInterval(() => void this.tick(), Math.min(500, this.opts.offerTtlMs / 2)),
    );
    await this.maybeOffer();
  }

  async handleCall(call: SchedulerCall): Promise<void> {
    switch (call.kind) {
      case 'launch':
        return this.launch(call.offerId, call.tasks);
      case 'decline':
        if (this.book.decline(call.offerId, call.refuseSeconds, this.now()) && call.refuseSeconds > 0) {
          clearTimeout(this.refuseTimer);
          this.refuseTimer = setTimeout(() => void this.maybeOffer(), call.refuseSeconds * 1000 + 5);
        }
        return this.maybeOffer();
      case 'revive':
        this.book.revive();
        return this.maybeOffer();
      case 'kill': {
        const task = this.tasks.get(call.taskId);
        if (task) {
          this.log.info('killing task', { task: call.taskId });
          task.abort.abort();
        }
        return;
      }
      case 'acknowledge':
        this.unacked.delete(call.uuid);
        this.checkIdle();
        return;
    }
  }

  private async launch(offerId: string, all: TaskInfo[]): Promise<void> {
    // The inbox redelivers a batch whose handling failed half-way: a launch seen before must not
    // be refused as an invalid offer while its tasks run here (their jobs would run twice).
    const infos = all.filter((t) => !this.launched.has(t.taskId));
    if (infos.length === 0) return;
    for (const t of infos) this.launched.add(t.taskId);
    // Insertion-ordered: the oldest ids go first; redeliveries come within seconds.
    for (const id of this.launched) {
      if (this.launched.size <= 10_000) break;
      this.launched.delete(id);
    }
    const accepted = this.book.accept(offerId, infos.map((t) => t.resources), this.now());
    if (!accepted.ok) {
      this.log.warn('launch refused', { offer: offerId, tasks: infos.length, reason: accepted.message });
      const state = accepted.reason === 'INVALID_OFFER' ? 'TASK_LOST' : 'TASK_ERROR';
      for (const info of infos) {
        await this.reportTerminal(info, { state, stage: 'none', reason: accepted.reason, retryable: true, message: accepted.message });
      }
      return this.maybeOffer();
    }
    for (const info of infos) {
      const task: RunningTask = { info, abort: new AbortController(), lastUpdateMs: 0 };
      this.tasks.set(info.taskId, task);
      void this.run(task);
    }
    await this.maybeOffer();
  }

  private async run(task: RunningTask): Promise<void> {
    let outcome: TaskOutcome;
    try {
      outcome = await runTask(task.info, this.deps, task.abort.signal, (stage) => this.stageChanged(task, stage));
    } catch (err) {
      // runTask never throws; this guards the guarantee that every task ends terminal.
      outcome = { state: 'TASK_FAILED', stage: 'none', reason: 'INTERNAL', retryable: true, message: describeError(err) };
    }
    this.tasks.delete(task.info.taskId);
    this.book.release(task.info.resources);
    // The terminal update and the offer of the freed resources leave in the same write.
    const reported = this.reportTerminal(task.info, outcome).catch((err) =>
      this.log.error('terminal update not sent yet; will resend', { task: task.info.taskId, error: describeError(err) }),
    );
    await Promise.all([reported, this.maybeOffer()]);
    this.checkIdle();
  }

  private stageChanged(task: RunningTask, stage: Stage): void {
    const now = this.now();
    if (task.lastUpdateMs !== 0 && now - task.lastUpdateMs < this.opts.stageUpdateMs) return;
    task.lastUpdateMs = now;
    const status = this.status(task.info, { state: 'TASK_RUNNING', stage, retryable: false, message: '' });
    this.send({ kind: 'update', status }).catch((err) => this.log.warn('running update failed', { error: describeError(err) }));
  }

  private status(info: TaskInfo, outcome: Omit<TaskOutcome, 'state'> & { state: TaskStatus['state'] }): TaskStatus {
    const status: TaskStatus = {
      taskId: info.taskId,
      jobId: info.jobId,
      executorId: this.opts.executorId,
      state: outcome.state,
      stage: outcome.stage,
      retryable: outcome.retryable,
      message: outcome.message,
      timestamp: this.now() / 1000,
    };
    if (outcome.reason) status.reason = outcome.reason;
    if (outcome.result) status.result = outcome.result;
    return status;
  }

  private async reportTerminal(info: TaskInfo, outcome: Omit<TaskOutcome, 'state'> & { state: TaskStatus['state'] }): Promise<void> {
    const status = { ...this.status(info, outcome), uuid: randomUUID().replaceAll('-', '') };
    this.unacked.set(status.uuid, { status, sentAtMs: this.now() });
    const level = outcome.state === 'TASK_FINISHED' ? 'debug' : 'warn';
    this.log[level]('task ended', { task: info.taskId, job: info.jobId, state: outcome.state, reason: outcome.reason, message: outcome.message });
    await this.send({ kind: 'update', status });
  }

  private async maybeOffer(): Promise<void> {
    const now = this.now();
    if (!this.book.canOffer(now)) return;
    const offer = this.book.makeOffer(`${this.opts.executorId}-${this.bootId}-${++this.offerSeq}`, now, this.opts.offerTtlMs);
    await this.send({
      kind: 'offer',
      offer: { id: offer.id, executorId: this.opts.executorId, hostname: this.opts.hostname, resources: offer.resources, expiresAtMs: offer.expiresAtMs },
    });
  }

  private async heartbeat(): Promise<void> {
    const tasks = [...this.tasks.keys(), ...[...this.unacked.values()].map((u) => u.status.taskId)];
    await this.send({ kind: 'heartbeat', running: this.tasks.size, tasks }).catch((err) =>
      this.log.warn('heartbeat failed', { error: describeError(err) }),
    );
  }

  /** Expires unanswered offers and re-sends unacknowledged terminal updates. */
  private async tick(): Promise<void> {
    try {
      const now = this.now();
      const expired = this.book.expire(now);
      if (expired) {
        this.log.debug('offer expired unanswered', { offer: expired });
        await this.send({ kind: 'rescind', offerId: expired });
      }
      for (const entry of this.unacked.values()) {
        if (now - entry.sentAtMs < this.opts.ackResendMs) continue;
        entry.sentAtMs = now;
        await this.send({ kind: 'update', status: entry.status });
      }
      await this.maybeOffer();
    } catch (err) {
      this.log.warn('executor tick failed', { error: describeError(err) });
    }
  }

  private send(body: EventBody): Promise<void> {
    return this.emit({ ...body, executorId: this.opts.executorId, sentAtMs: this.now() } as ExecutorEvent);
  }

  private checkIdle(): void {
    if (this.idle && this.tasks.size === 0 && this.unacked.size === 0) this.idle();
  }

  /**
   * SIGTERM: stop offering (taking back the outstanding offer), let running tasks finish,
   * wait a bounded time for their terminal updates to be acknowledged, then unregister.
   */
  async drain(): Promise<void> {
    this.book.stopOffering();
    const rescinded = this.book.rescind();
    if (rescinded) await this.send({ kind: 'rescind', offerId: rescinded }).catch(() => undefined);
    this.log.info('executor draining', { running: this.tasks.size });
    const done = new Promise<void>((resolve) => (this.idle = resolve));
    this.checkIdle();
    const deadline = new Promise<void>((resolve) => {
      // Tasks are bounded by their own timeouts; only the wait for acks needs a cap.
      const wait = (): void => {
        if (this.tasks.size === 0) setTimeout(resolve, this.opts.shutdownAckWaitMs).unref();
        else setTimeout(wait, 100).unref();
      };
      wait();
    });
    await Promise.race([done, deadline]);
    if (this.unacked.size > 0) this.log.warn('leaving with unacknowledged updates', { count: this.unacked.size });
    for (const timer of this.timers) clearInterval(timer);
    clearTimeout(this.refuseTimer);
    this.timers = [];
    await this.send({ kind: 'unregister', reason: 'shutdown' }).catch(() => undefined);
  }
}
