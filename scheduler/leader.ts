/**
 * A scheduler while it holds the leader lease: one term. It dispatches executor events to the
 * part that owns each kind, runs the periodic duties (locks, liveness, sweep, revive), and sends
 * the calls of each handled batch together. A term ends by handover (SIGTERM: running tasks
 * are left to the next leader) or by abdication (the lease was lost: stop at once, write
 * nothing more).
 *
 * Events are handed in one batch at a time (the inbox is sequential), so handlers never
 * interleave with each other; timers run between batches.
 */
import { inBackground } from '../common/background.js';
import { describeError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { EMPTY, formatResources } from '../protocol/resources.js';
import { isTerminal, type ExecutorEvent, type ExecutorEventKind, type SchedulerCall } from '../protocol/types.js';
import { ExecutorRegistry } from './executor-registry.js';
import { HostCircuits, type CircuitOptions } from './host-circuits.js';
import type { JobQueue } from './job-queue.js';
import { giveUpTask, RecentOutcomes, type LeaderContext, type LeaderCounters, type LeaderOptions } from './leader-context.js';
import { Cancellations, type CancelPort } from './cancellations.js';
import { Liveness, type AlivePort } from './liveness.js';
import { LockKeeper } from './lock-keeper.js';
import { neverFits } from './offer-matching.js';
import { OfferResponder } from './offer-responder.js';
import { compareEntryIds } from '../transport/stream-inbox.js';
import { Reconciler } from './reconciler.js';
import { ServiceKeeper, type ServiceStore } from './service-keeper.js';
import { StatusHandler } from './status-handler.js';
import { TaskLedger } from './task-ledger.js';
import { TaskSizer } from './task-sizer.js';

export interface LeaderBus {
  /** Delivers calls to one executor's inbox, in order, stamped with this term's epoch. */
  send(executorId: string, calls: SchedulerCall[]): Promise<string[]>;
  /** Called on signs of life, so the executor's inbox does not expire while it is alive. */
  keepInbox(executorId: string): Promise<void>;
}

export interface LeaderPorts {
  /** This leadership term: its epoch, and whether the lease still holds. */
  term: { epoch: number; valid(): boolean };
  queue: JobQueue;
  bus: LeaderBus;
  alive: AlivePort;
  services: ServiceStore;
  cancels: CancelPort;
  isCancelled(jobId: string): Promise<boolean>;
}

export type { LeaderOptions } from './leader-context.js';

/** Thrown to leave a batch unacknowledged: this term has ended. */
export class NotLeading extends Error {
  constructor() {
    super('this scheduler no longer leads');
  }
}

type Handlers = { [K in ExecutorEventKind]: (event: Extract<ExecutorEvent, { kind: K }>) => Promise<void> };

export class Leader {
  readonly ledger = new TaskLedger();
  readonly registry = new ExecutorRegistry();
  readonly circuits: HostCircuits;
  readonly recent = new RecentOutcomes();
  readonly counters: LeaderCounters = { offersReceived: 0, offersAccepted: 0, offersDeclined: 0, tasksLaunched: 0, itemsByOutcome: {}, runsEnded: {} };
  readonly ctx: LeaderContext;
  readonly offers: OfferResponder;
  readonly reconciler: Reconciler;
  readonly services: ServiceKeeper;
  readonly cancellations: Cancellations;
  private readonly statuses: StatusHandler;
  private readonly locks: LockKeeper;
  readonly liveness: Liveness;
  private timers: NodeJS.Timeout[] = [];
  private revivePolling = false;
  /**
   * Calls not sent yet, by executor, in order. They leave together at the next turn of the
   * event loop, and at the latest when the batch or duty that made them ends: one write per
   * executor for many calls, with no per-promise bookkeeping (AsyncLocalStorage cost 10% here).
   */
  private pending = new Map<string, SchedulerCall[]>();
  private flushScheduled = false;
  private flushing: Promise<void> = Promise.resolve();
  private ended = false;

  constructor(
    private readonly ports: LeaderPorts,
    readonly opts: Readonly<LeaderOptions>,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    circuitOptions?: CircuitOptions,
    /** Runs the periodic duties; tests pass a no-op and drive them by hand. */
    private readonly every: (ms: number, fn: () => void) => NodeJS.Timeout | undefined = (ms, fn) => setInterval(fn, ms),
  ) {
    this.circuits = new HostCircuits(circuitOptions);
    this.ctx = {
      queue: ports.queue,
      ledger: this.ledger,
      registry: this.registry,
      circuits: this.circuits,
      opts,
      log,
      now,
      send: (executorId, call) => this.send(executorId, call),
      epoch: ports.term.epoch,
      recent: this.recent,
      counters: this.counters,
      sizer: new TaskSizer(opts.taskImages),
    };
    this.services = new ServiceKeeper(this.ctx, ports.services, { serviceShare: opts.serviceShare, spreadWaitMs: opts.serviceSpreadWaitMs });
    // Until the takeover reconciliation is complete, running instances are not known yet: place none.
    this.offers = new OfferResponder(this.ctx, (offer) => (this.reconciler.done ? this.services.plan(offer) : { tasks: [], used: EMPTY }));
    this.reconciler = new Reconciler(this.ctx, { adoptService: (executorId, report) => this.services.adopt(executorId, report), isCancelled: ports.isCancelled });
    this.statuses = new StatusHandler(this.ctx, {
      reconcile: (executorId, taskIds) => this.reconciler.ask(executorId, taskIds),
      serviceUpdate: (task, status) => this.services.onUpdate(task, status),
      isCancelled: ports.isCancelled,
    });
    this.cancellations = new Cancellations(this.ctx, ports.cancels, this.offers.parked);
    this.locks = new LockKeeper(this.ctx, this.offers.parked);
    this.liveness = new Liveness(this.ctx, ports.alive, this.offers.parked, (id) => this.reconciler.ask(id, []));
  }

  /** Starts the term: timers, then reconciliation with every live executor. */
  async start(): Promise<void> {
    const every = (ms: number, fn: () => Promise<void>) => {
      const timer = this.every(ms, () => inBackground(this.log, 'leader timer', () => this.guarded(fn)));
      if (timer) this.timers.push(timer);
    };
    every(this.opts.revivePollMs, () => this.reviveIfWork());
    every(Math.max(500, this.opts.lockDurationMs / 3), () => this.locks.keep());
    every(Math.max(200, Math.min(1000, this.opts.executorTimeoutMs / 4)), () => this.liveness.poll());
    every(1000, () => this.services.refresh());
    every(500, () => this.cancellations.poll());
    // Desired state first: the reconciliation adopts service instances against it.
    await this.guarded(() => this.services.refresh());
    const live = await this.liveness.discover();
    await this.guarded(async () => this.reconciler.begin(live));
    await this.reconciler.finished;
    if (!this.ended) every(this.opts.sweepIntervalMs, () => this.liveness.sweep());
  }

  get activeTasks(): number {
    return this.ledger.size;
  }

  /**
   * Handles one inbox batch in order. Updates of different tasks are independent: handled
   * together, their Redis calls share round trips; everything else keeps its order. A RUNNING
   * update followed in the same batch by its task's terminal update is not written.
   */
  async handleEvents(events: ExecutorEvent[]): Promise<void> {
    // An ended term must not consume events: they stay pending for the next leader.
    if (this.ended || !this.ports.term.valid()) throw new NotLeading();
    const ending = new Set(events.flatMap((e) => (e.kind === 'update' && isTerminal(e.status.state) ? [e.status.taskId] : [])));
    await this.flushAfter(async () => {
      let updates: Promise<void>[] = [];
      for (const event of events) {
        if (event.kind === 'update') {
          updates.push(this.statuses.handle(event.status, ending.has(event.status.taskId)));
          continue;
        }
        await Promise.all(updates);
        updates = [];
        await this.dispatch(event);
      }
      await Promise.all(updates);
    });
  }

  private readonly handlers: Handlers = {
    register: async (e) => {
      const record = this.registry.see(e.executorId, this.now());
      Object.assign(record, { hostname: e.hostname, total: e.resources, bootId: e.bootId, advertiseHost: e.advertiseHost, declined: false, lost: false });
      await this.ports.bus.keepInbox(e.executorId);
      this.log.info('executor registered', { executor: e.executorId, host: e.hostname, resources: formatResources(e.resources) });
      // A restarted executor runs nothing of what it ran before.
      const running = new Set(e.running);
      for (const task of this.ledger.tasksOn(e.executorId)) {
        if (!running.has(task.taskId)) await giveUpTask(this.ctx, task, 'TASK_LOST', 'EXECUTOR_LOST', `executor ${e.executorId} restarted`);
      }
      if (neverFits(e.resources, this.opts.task)) {
        this.log.warn('executor can never fit a task; raise its resources or lower TASK_CPUS/TASK_MEM_MB', { executor: e.executorId });
      }
    },
    heartbeat: async (e) => {
      const record = this.registry.see(e.executorId, this.now());
      Object.assign(record, { total: e.resources, used: e.used, running: e.running, inboxHealthy: e.inboxHealthy, draining: e.draining, bootId: e.bootId });
      await this.ports.bus.keepInbox(e.executorId);
      if (record.lost) return; // liveness notices its return and reconciles it
      const known = new Set(e.tasks);
      await this.reconcileLaunches(e.executorId, known, e.inboxPosition);
      const unknown = e.tasks.filter((t) => !this.ledger.get(t));
      if (unknown.length > 0 && this.reconciler.done) this.reconciler.ask(e.executorId, unknown);
    },
    offer: async (e) => {
      if (this.registry.get(e.executorId)?.lost) {
        // It was given up for dead: first learn what it still runs.
        this.reconciler.ask(e.executorId, []);
        this.send(e.executorId, { kind: 'decline', offerId: e.offer.id, refuseSeconds: 1 });
        return;
      }
      this.registry.see(e.executorId, this.now()).advertiseHost = e.offer.advertiseHost;
      await this.offers.respond(e.offer);
    },
    rescind: async (e) => this.log.debug('offer rescinded', { executor: e.executorId, offer: e.offerId }),
    update: async (e) => this.statuses.handle(e.status, false),
    unregister: async (e) => {
      this.log.info('executor unregistered', { executor: e.executorId, reason: e.reason });
      for (const task of this.ledger.tasksOn(e.executorId)) {
        await giveUpTask(this.ctx, task, 'TASK_LOST', 'EXECUTOR_SHUTDOWN', `executor ${e.executorId} left: ${e.reason}`);
      }
      this.registry.remove(e.executorId);
    },
    reconciled: async (e) => {
      const record = this.registry.see(e.executorId, this.now());
      record.total = e.resources;
      await this.reconciler.handleReport(e.executorId, e.tasks, e.epoch);
    },
  };

  private async dispatch(event: ExecutorEvent): Promise<void> {
    const handler = this.handlers[event.kind] as (e: ExecutorEvent) => Promise<void>;
    await handler(event);
  }

  /**
   * A task whose launch is at or before the last inbox entry the executor has acted on, and that
   * the executor does not list, never reached it (or was dropped as a deposed leader's): its jobs
   * go back to the queue without spending an attempt, and the launch is killed in case. Judged by
   * stream positions, so a leader behind its inbox never mistakes a fresh launch for a lost one.
   */
  private async reconcileLaunches(executorId: string, known: ReadonlySet<string>, position: string): Promise<void> {
    if (position === '') return;
    for (const task of this.ledger.tasksOn(executorId)) {
      if (known.has(task.taskId) || task.adopted || task.launchEntryId === undefined) continue;
      if (compareEntryIds(task.launchEntryId, position) > 0) continue;
      this.log.warn('launched task unknown to its executor; requeued and killed', { task: task.taskId, executor: executorId });
      this.send(executorId, { kind: 'kill', taskId: task.taskId, reason: 'TASK_KILLED' });
      await giveUpTask(this.ctx, task, 'TASK_LOST', 'INVALID_OFFER', 'the launch never reached the executor');
    }
  }

  /** Revives declined executors once runnable jobs exist (a cheap count, only while some are declined). */
  async reviveIfWork(): Promise<void> {
    if (this.offers.draining || this.revivePolling || !this.registry.hasDeclined()) return;
    this.revivePolling = true;
    try {
      if (!this.services.wantsOffers() && !(await this.ports.queue.hasRunnableJobs(this.now()))) return;
      for (const id of this.registry.takeDeclined()) this.send(id, { kind: 'revive' });
    } finally {
      this.revivePolling = false;
    }
  }

  private send(executorId: string, call: SchedulerCall): void {
    if (this.ended) return;
    const calls = this.pending.get(executorId) ?? [];
    calls.push(call);
    this.pending.set(executorId, calls);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => void this.flush().catch((err) => this.log.warn('sending calls failed', { error: describeError(err) })));
  }

  /** Sends every pending call; resolves when they (and any sent before) are written. */
  private flush(): Promise<void> {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = new Map();
    const previous = this.flushing;
    // Chained: one executor's calls reach Redis in the order they were made.
    this.flushing = (async () => {
      await previous.catch(() => undefined);
      if (this.ended || batch.size === 0) return;
      await Promise.all([...batch].map(([executorId, calls]) => this.deliver(executorId, calls)));
    })();
    return this.flushing;
  }

  /** Runs `fn`, then sends its calls, even when it failed half-way. */
  private async flushAfter(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } finally {
      await this.flush();
    }
  }

  /** Sends calls and notes where each launch landed in the executor's inbox (see reconcileLaunches). */
  private async deliver(executorId: string, calls: SchedulerCall[]): Promise<void> {
    const ids = await this.ports.bus.send(executorId, calls);
    calls.forEach((call, i) => {
      if (call.kind !== 'launch' || ids[i] === undefined) return;
      for (const info of call.tasks) {
        const task = this.ledger.get(info.taskId);
        if (task) task.launchEntryId = ids[i];
      }
    });
  }

  private async guarded(fn: () => Promise<void>): Promise<void> {
    // After a pause (SIGSTOP, a Redis outage) overdue timers fire before the lease is renewed.
    if (this.ended || !this.ports.term.valid()) return;
    try {
      await this.flushAfter(fn);
    } catch (err) {
      this.log.warn('scheduler duty failed; will try again', { error: describeError(err) });
    }
  }

  private stopTimers(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    this.reconciler.stop();
  }

  /**
   * SIGTERM: stop launching, return parked jobs, and leave running tasks to the next leader
   * (their locks outlive the handover; the next leader adopts them).
   */
  async handover(): Promise<void> {
    this.offers.draining = true;
    this.ended = true;
    this.stopTimers();
    await this.offers.releaseParked();
  }

  /** The lease was lost: another leader may be acting. Stop at once and write nothing more. */
  abdicate(): void {
    this.ended = true;
    this.stopTimers();
  }
}
