/**
 * The executor: registers, heartbeats, offers its free resources, runs launched tasks within
 * what it offered, and reports every task to a terminal state. Terminal updates carry a uuid
 * and are re-sent until the scheduler acknowledges them.
 *
 * Calls are fenced: a Call below the highest leader epoch seen is dropped, so a deposed leader
 * can no longer launch, kill or acknowledge anything here. A new leader's Reconcile is answered
 * with every task this executor has. A Kill for a task not (yet) here is remembered, so a
 * launch still in flight is refused when it arrives.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { inBackground } from '../common/background.js';
import { describeError, type ErrorCode } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { formatResources } from '../protocol/resources.js';
import type { ExecutorEvent, ItemStatus, ReceivedCall, Resources, Stage, TaskInfo, TaskReport, TaskState, TaskStatus } from '../protocol/types.js';
import { BoundedSet } from './bounded-set.js';
import { OfferBook } from './offer-book.js';
import { runImageTask, type BatchTaskDeps, type TaskItem } from './image-task.js';
import { ServiceInstance, type InstanceStatus, type ServiceOptions } from './service-instance.js';
import { UnackedUpdates } from './unacked-updates.js';

/** Distributes Omit over the event union so each variant keeps its own fields. */
type EventBody = ExecutorEvent extends infer E ? (E extends ExecutorEvent ? Omit<E, 'executorId' | 'sentAtMs' | 'bootId'> : never) : never;

export interface ExecutorPorts {
  /** Sends an event to the scheduler inbox. */
  emit(event: ExecutorEvent): Promise<void>;
  /** Writes the alive key ("<bootId>:<seq>"), by which the leader judges this executor alive. */
  markAlive(value: string): Promise<void>;
  /** How long the inbox has gone without completing a read (0 while healthy). */
  inboxStalledMs(): number;
  /** The stream id of the last inbox entry acted on. */
  inboxPosition(): string;
  /** Who holds the leader lease now, as Redis says (to accept a lower epoch after Redis lost data). */
  leaseHolder(): Promise<{ schedulerId: string; epoch: number } | undefined>;
  /** Told once per image task when it ends, with its terminal status (metrics). */
  taskEnded?(status: TaskStatus): void;
}

export interface ExecutorOptions {
  executorId: string;
  hostname: string;
  /** Where services launched here bind and are reached. */
  advertiseHost: string;
  resources: Resources;
  heartbeatMs: number;
  offerTtlMs: number;
  ackResendMs: number;
  /** Intermediate RUNNING updates (stage changes) are sent at most this often per task. */
  stageUpdateMs: number;
  shutdownAckWaitMs: number;
  services: Omit<ServiceOptions, 'advertiseHost'>;
}

/** A port another process turned out to hold is not offered again for this long. */
const PORT_WITHHOLD_MS = 60_000;

interface RunningTask {
  info: TaskInfo;
  items: Map<string, TaskItem>;
  startedAtMs: number;
  lastUpdateMs: number;
}

interface ServiceTask {
  info: TaskInfo;
  instance: ServiceInstance;
}

export class Executor {
  private readonly book: OfferBook;
  private readonly tasks = new Map<string, RunningTask>();
  private readonly services = new Map<string, ServiceTask>();
  private readonly unacked = new UnackedUpdates();
  /** Task ids of recent launches, so a redelivered launch is recognised. */
  private readonly launched = new BoundedSet<string>(10_000);
  /** Ids (tasks or image tokens) killed before or while they ran, with why. */
  private readonly killed = new Map<string, ErrorCode>();
  readonly bootId = randomBytes(4).toString('hex');
  private maxEpoch = 0;
  private leaseChecked: { atMs: number; holder: { schedulerId: string; epoch: number } | undefined } = { atMs: 0, holder: undefined };
  private seq = 0;
  private offerSeq = 0;
  private inboxStuck = false;
  private timers: NodeJS.Timeout[] = [];
  private refuseTimer: NodeJS.Timeout | undefined;
  private idle: (() => void) | undefined;
  private draining = false;

  constructor(
    private readonly ports: ExecutorPorts,
    private readonly deps: BatchTaskDeps,
    private readonly opts: ExecutorOptions,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.book = new OfferBook(opts.resources);
  }

  get runningTasks(): number {
    return this.tasks.size;
  }

  get runningServices(): number {
    return this.services.size;
  }

  get epoch(): number {
    return this.maxEpoch;
  }

  async start(): Promise<void> {
    const { hostname, resources, advertiseHost } = this.opts;
    await this.heartbeatAlive();
    await this.send({ kind: 'register', hostname, resources, running: [...this.tasks.keys(), ...this.services.keys()], pid: process.pid, advertiseHost });
    this.log.info('executor registered', { executor: this.opts.executorId, resources: formatResources(resources) });
    this.timers.push(
      setInterval(() => inBackground(this.log, 'heartbeat', () => this.heartbeat()), this.opts.heartbeatMs),
      setInterval(() => inBackground(this.log, 'offer tick', () => this.tick()), Math.min(500, this.opts.offerTtlMs / 2)),
    );
    await this.maybeOffer();
  }

  async handleCall({ envelope, call }: ReceivedCall): Promise<void> {
    const previousEpoch = this.maxEpoch;
    if (envelope.epoch < this.maxEpoch && !(await this.leaseConfirms(envelope.schedulerId, envelope.epoch))) {
      this.log.debug('call from a deposed leader dropped', { call: call.kind, epoch: envelope.epoch, current: this.maxEpoch, from: envelope.schedulerId });
      return;
    }
    const newLeader = envelope.epoch !== previousEpoch && previousEpoch > 0;
    if (envelope.epoch > this.maxEpoch) {
      if (this.maxEpoch > 0) this.log.info('a new leader took over', { scheduler: envelope.schedulerId, epoch: envelope.epoch });
      this.maxEpoch = envelope.epoch;
    }
    if (!newLeader) return this.handle(call);
    // A refuse period or a wait for released resources was the deposed leader's decision, and
    // only it knew to revive: an idle executor left waiting would never offer to the new one.
    this.book.revive();
    await this.handle(call);
    await this.maybeOffer();
  }

  private async handle(call: ReceivedCall['call']): Promise<void> {
    switch (call.kind) {
      case 'launch':
        return this.launch(call.offerId, call.tasks);
      case 'decline':
        if (this.book.decline(call.offerId, call.refuseSeconds, this.now()) && call.refuseSeconds > 0) {
          clearTimeout(this.refuseTimer);
          this.refuseTimer = setTimeout(() => inBackground(this.log, 'offer after the refuse period', () => this.maybeOffer()), call.refuseSeconds * 1000 + 5);
        }
        return this.maybeOffer();
      case 'revive':
        this.book.revive();
        return this.maybeOffer();
      case 'kill':
        return this.kill(call.taskId, call.reason);
      case 'acknowledge':
        this.unacked.ack(call.uuid);
        this.checkIdle();
        return;
      case 'reconcile':
        return this.reconcile();
    }
  }

  /**
   * A Call below the highest epoch seen is a deposed leader's, unless the lease in Redis says
   * that very epoch leads now (Redis lost data and the epoch went back): then it is the leader.
   */
  private async leaseConfirms(schedulerId: string, epoch: number): Promise<boolean> {
    // At most one look a second, however many stale calls arrive.
    if (this.now() - this.leaseChecked.atMs > 1000) this.leaseChecked = { atMs: this.now(), holder: await this.ports.leaseHolder().catch(() => undefined) };
    const holder = this.leaseChecked.holder;
    if (holder?.schedulerId !== schedulerId || holder.epoch !== epoch) return false;
    this.log.warn('the leader epoch went back (Redis lost data?); following the lease', { scheduler: schedulerId, epoch, was: this.maxEpoch });
    this.maxEpoch = epoch;
    return true;
  }

  private async launch(offerId: string, all: TaskInfo[]): Promise<void> {
    // The inbox redelivers a batch whose handling failed half-way: a launch seen before must not
    // be refused as an invalid offer while its tasks run here (their jobs would run twice).
    const infos = all.filter((t) => !this.launched.has(t.taskId));
    if (infos.length === 0) return;
    for (const t of infos) this.launched.add(t.taskId);
    const accepted = this.book.accept(offerId, infos.map((t) => t.resources), this.now());
    if (!accepted.ok) {
      this.log.warn('launch refused', { offer: offerId, tasks: infos.length, reason: accepted.message });
      const state: TaskState = accepted.reason === 'INVALID_OFFER' ? 'TASK_LOST' : 'TASK_ERROR';
      for (const info of infos) await this.reportTerminal(this.runningTask(info), state, accepted.reason, accepted.message);
      return this.maybeOffer();
    }
    for (const info of infos) {
      if (info.service) {
        this.startService(info);
        continue;
      }
      const task = this.runningTask(info);
      this.tasks.set(info.taskId, task);
      inBackground(this.log, `task ${info.taskId}`, () => this.run(task));
    }
    await this.maybeOffer();
  }

  private startService(info: TaskInfo): void {
    const spec = info.service!;
    const killedAs = this.killed.get(info.taskId);
    const instance = new ServiceInstance(info.taskId, spec, { ...this.opts.services, advertiseHost: this.opts.advertiseHost }, this.log, (status) =>
      inBackground(this.log, 'reporting a service instance', () => this.serviceChanged(info, status)),
    );
    this.services.set(info.taskId, { info, instance });
    this.log.info('starting a service instance', { service: spec.name, instance: spec.instance, url: instance.url });
    instance.start();
    if (killedAs !== undefined) inBackground(this.log, 'stopping a service instance', () => instance.stop(killedAs));
  }

  private async serviceChanged(info: TaskInfo, status: InstanceStatus): Promise<void> {
    const base = { taskId: info.taskId, executorId: this.opts.executorId, state: status.state, stage: 'serve' as Stage, message: status.message, timestamp: this.now() / 1000, items: [], healthy: status.healthy };
    const update: TaskStatus = status.reason ? { ...base, reason: status.reason } : base;
    try {
      if (status.state === 'TASK_RUNNING' || status.state === 'TASK_STARTING') {
        await this.send({ kind: 'update', status: update });
        return;
      }
      this.services.delete(info.taskId);
      this.book.release(info.resources);
      if (status.reason === 'SERVICE_PORT_IN_USE') this.book.withhold(info.service!.port, this.now() + PORT_WITHHOLD_MS);
      const terminal = { ...update, uuid: randomUUID().replaceAll('-', '') };
      this.unacked.add(terminal, info, this.now());
      this.log[status.state === 'TASK_KILLED' ? 'info' : 'warn']('service instance ended', { task: info.taskId, state: status.state, reason: status.reason, message: status.message });
      await Promise.all([this.send({ kind: 'update', status: terminal }), this.maybeOffer()]);
      this.checkIdle();
    } catch (err) {
      this.log.warn('service update not sent', { task: info.taskId, error: describeError(err) });
    }
  }

  private runningTask(info: TaskInfo): RunningTask {
    const items = new Map<string, TaskItem>();
    for (const image of info.images) {
      const abort = new AbortController();
      const killedAs = this.killed.get(image.token) ?? this.killed.get(info.taskId);
      if (killedAs !== undefined) abort.abort();
      items.set(image.token, {
        image,
        status: { token: image.token, jobId: image.jobId, state: 'TASK_STAGING', stage: 'queued', message: '' },
        abort,
        killReason: killedAs ?? 'TASK_KILLED',
      });
    }
    return { info, items, startedAtMs: this.now(), lastUpdateMs: 0 };
  }

  private async run(task: RunningTask): Promise<void> {
    // A task still running after STAGE_UPDATE_MS says where it is; a quicker one says nothing until it ends.
    const progress = setTimeout(() => this.progress(task), this.opts.stageUpdateMs);
    try {
      await runImageTask([...task.items.values()], this.deps, task.info.resources.memMb, (item, stage) => this.stageChanged(task, item, stage));
    } catch (err) {
      // runImageTask settles every image itself; this guards the guarantee that every task ends terminal.
      for (const item of task.items.values()) {
        if (item.status.state === 'TASK_RUNNING' || item.status.state === 'TASK_STAGING') Object.assign(item.status, { state: 'TASK_FAILED', reason: 'INTERNAL', message: describeError(err) });
      }
    }
    clearTimeout(progress);
    this.tasks.delete(task.info.taskId);
    this.book.release(task.info.resources);
    const states = [...task.items.values()].map((i) => i.status.state);
    const state: TaskState = states.every((s) => s === 'TASK_FINISHED') ? 'TASK_FINISHED' : states.every((s) => s === 'TASK_KILLED') ? 'TASK_KILLED' : 'TASK_FAILED';
    // The terminal update and the offer of the freed resources leave in the same write.
    const reported = this.reportTerminal(task, state, undefined, '').catch((err) =>
      this.log.error('terminal update not sent yet; will resend', { task: task.info.taskId, error: describeError(err) }),
    );
    await Promise.all([reported, this.maybeOffer()]);
    this.checkIdle();
  }

  /** Progress is worth a message only for tasks that take a while: none for a quick one. */
  private stageChanged(task: RunningTask, item: TaskItem, stage: Stage): void {
    item.status.stage = stage;
    const now = this.now();
    if (now - task.startedAtMs < this.opts.stageUpdateMs) return;
    if (task.lastUpdateMs !== 0 && now - task.lastUpdateMs < this.opts.stageUpdateMs) return;
    this.progress(task, [item]);
  }

  private progress(task: RunningTask, items = [...task.items.values()].filter((i) => i.status.state === 'TASK_RUNNING')): void {
    if (!this.tasks.has(task.info.taskId) || items.length === 0) return;
    task.lastUpdateMs = this.now();
    const status = this.status(task, 'TASK_RUNNING', undefined, '', items.map((i) => i.status));
    this.send({ kind: 'update', status }).catch((err) => this.log.warn('running update failed', { error: describeError(err) }));
  }

  private status(task: RunningTask, state: TaskState, reason: ErrorCode | undefined, message: string, items: ItemStatus[]): TaskStatus {
    const last = items.at(-1);
    const status: TaskStatus = {
      taskId: task.info.taskId,
      executorId: this.opts.executorId,
      state,
      stage: last?.stage ?? 'none',
      message,
      timestamp: this.now() / 1000,
      items: items.map((i) => ({ ...i })),
    };
    if (reason) status.reason = reason;
    return status;
  }

  /** Ends a task: every image that has no outcome yet gets the task's. */
  private async reportTerminal(task: RunningTask, state: TaskState, reason: ErrorCode | undefined, message: string): Promise<void> {
    for (const item of task.items.values()) {
      if (item.status.state === 'TASK_STAGING' || item.status.state === 'TASK_RUNNING') {
        Object.assign(item.status, { state, reason, message, stage: item.status.stage === 'queued' ? 'none' : item.status.stage });
      }
    }
    const status = { ...this.status(task, state, reason, message, [...task.items.values()].map((i) => i.status)), uuid: randomUUID().replaceAll('-', '') };
    this.unacked.add(status, task.info, this.now());
    this.ports.taskEnded?.(status);
    const failed = status.items.filter((i) => i.state !== 'TASK_FINISHED');
    const level = failed.length === 0 ? 'debug' : 'warn';
    this.log[level]('task ended', { task: task.info.taskId, state, failed: failed.map((i) => `${i.jobId}:${i.reason ?? i.state}`).join(',') || undefined, message: failed[0]?.message });
    await this.send({ kind: 'update', status });
  }

  private async kill(id: string, reason: ErrorCode): Promise<void> {
    this.killed.set(id, reason);
    if (this.killed.size > 10_000) this.killed.delete(this.killed.keys().next().value!);
    const service = this.services.get(id);
    if (service) {
      this.log.info('stopping a service instance', { task: id, service: service.info.service!.name, instance: service.info.service!.instance, reason });
      inBackground(this.log, 'stopping a service instance', () => service.instance.stop(reason));
      return;
    }
    for (const task of this.tasks.values()) {
      const whole = task.info.taskId === id;
      for (const [token, item] of task.items) {
        if (!whole && token !== id) continue;
        if (item.abort.signal.aborted) continue;
        this.log.info('killing', { task: task.info.taskId, image: token, reason });
        item.killReason = reason;
        item.abort.abort();
      }
    }
  }

  /** Answers a leader's Reconcile with every task here: running ones, and finished ones awaiting an acknowledgement. */
  private async reconcile(): Promise<void> {
    const reports: TaskReport[] = [];
    for (const task of this.tasks.values()) {
      reports.push({ info: task.info, status: this.status(task, 'TASK_RUNNING', undefined, '', [...task.items.values()].map((i) => i.status)) });
    }
    for (const { info, instance } of this.services.values()) {
      const s = instance.status;
      reports.push({ info, status: { taskId: info.taskId, executorId: this.opts.executorId, state: s.state, stage: 'serve', message: s.message, timestamp: this.now() / 1000, items: [], healthy: s.healthy } });
    }
    reports.push(...this.unacked.reports());
    await this.send({ kind: 'reconciled', epoch: this.maxEpoch, tasks: reports, resources: this.opts.resources });
  }

  private async maybeOffer(): Promise<void> {
    const now = this.now();
    if (this.inboxStuck || !this.book.canOffer(now)) return;
    const offer = this.book.makeOffer(`${this.opts.executorId}-${this.bootId}-${++this.offerSeq}`, now, this.opts.offerTtlMs);
    await this.send({
      kind: 'offer',
      offer: {
        id: offer.id,
        executorId: this.opts.executorId,
        hostname: this.opts.hostname,
        resources: offer.resources,
        ttlMs: this.opts.offerTtlMs,
        advertiseHost: this.opts.advertiseHost,
      },
    });
  }

  private async heartbeatAlive(): Promise<void> {
    await this.ports.markAlive(`${this.bootId}:${++this.seq}`);
  }

  private async heartbeat(): Promise<void> {
    const tasks = [...this.tasks.keys(), ...this.services.keys(), ...this.unacked.taskIds()];
    try {
      await Promise.all([
        this.heartbeatAlive(),
        this.send({
          kind: 'heartbeat',
          running: this.tasks.size + this.services.size,
          tasks,
          seq: this.seq,
          resources: this.opts.resources,
          used: this.book.inUse,
          inboxHealthy: !this.inboxStuck,
          draining: this.draining,
          inboxPosition: this.ports.inboxPosition(),
        }),
      ]);
    } catch (err) {
      this.log.warn('heartbeat failed', { error: describeError(err) });
    }
  }

  /** Expires unanswered offers, re-sends unacknowledged terminal updates, watches the inbox. */
  private async tick(): Promise<void> {
    try {
      const now = this.now();
      await this.watchInbox();
      const expired = this.book.expire(now);
      if (expired) {
        this.log.debug('offer expired unanswered', { offer: expired });
        await this.send({ kind: 'rescind', offerId: expired });
      }
      for (const status of this.unacked.due(now, this.opts.ackResendMs)) await this.send({ kind: 'update', status });
      await this.maybeOffer();
    } catch (err) {
      this.log.warn('executor tick failed', { error: describeError(err) });
    }
  }

  /** An inbox that cannot read would swallow launches: offer nothing until it reads again. */
  private async watchInbox(): Promise<void> {
    const stalledMs = this.ports.inboxStalledMs();
    if (stalledMs > 0 && !this.inboxStuck) {
      this.inboxStuck = true;
      this.log.warn('inbox is not reading; offering nothing until it does', { stalledMs });
      const rescinded = this.book.rescind();
      if (rescinded) await this.send({ kind: 'rescind', offerId: rescinded });
    } else if (stalledMs === 0 && this.inboxStuck) {
      this.inboxStuck = false;
      this.log.info('inbox reads again; offering resumes');
    }
  }

  private send(body: EventBody): Promise<void> {
    return this.ports.emit({ ...body, executorId: this.opts.executorId, sentAtMs: this.now(), bootId: this.bootId } as ExecutorEvent);
  }

  private checkIdle(): void {
    if (this.idle && this.tasks.size === 0 && this.services.size === 0 && this.unacked.size === 0) this.idle();
  }

  /**
   * SIGTERM: stop offering (taking back the outstanding offer), let running image tasks finish,
   * then stop the service instances (the scheduler starts them elsewhere), wait a bounded time
   * for the terminal updates to be acknowledged, then unregister.
   */
  async drain(): Promise<void> {
    this.draining = true;
    this.book.stopOffering();
    const rescinded = this.book.rescind();
    if (rescinded) await this.send({ kind: 'rescind', offerId: rescinded }).catch(() => undefined);
    this.log.info('executor draining', { running: this.tasks.size, services: this.services.size });
    while (this.tasks.size > 0) await new Promise((r) => setTimeout(r, 50));
    await Promise.all([...this.services.values()].map((s) => s.instance.stop('EXECUTOR_SHUTDOWN')));
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
