/**
 * Keeps services' desired state true, as Marathon does on Mesos: on every offer it places the
 * instances that are missing (one port from the offer's ranges each, within the executor's
 * service share, spread across executors when it can), on every refresh it stops instances
 * beyond the desired count, and every terminal update of an instance makes room for its
 * replacement. Instances survive a failover: the next leader adopts them from the executors'
 * reconcile answers and the desired state. Nothing here stops a service when a leader stops.
 */
import { randomUUID } from 'node:crypto';
import { serviceVersion, type ServiceDef } from '../common/service-def.js';
import { add, EMPTY, subtract, takePorts } from '../protocol/resources.js';
import { isTerminal, type Offer, type Resources, type TaskInfo, type TaskReport, type TaskStatus } from '../protocol/types.js';
import type { LeaderContext } from './leader-context.js';
import type { LedgerTask } from './task-ledger.js';

export interface ServiceStore {
  /** Every service's desired state, by name. */
  load(): Promise<Map<string, ServiceDef>>;
}

export interface ServiceKeeperOptions {
  /** At most this share of an executor's cpus and memory goes to service instances. */
  serviceShare: number;
  /** A missing instance waits this long for an executor without one before doubling up. */
  spreadWaitMs: number;
}

const EPSILON = 1e-9;
const KILL_RESEND_MS = 10_000;

export class ServiceKeeper {
  private desired = new Map<string, ServiceDef>();
  private loaded = false;
  private readonly missingSince = new Map<string, number>();
  /** Instances told to stop, by task id, with when the kill was (last) sent. */
  private readonly stopping = new Map<string, number>();

  constructor(
    private readonly ctx: LeaderContext,
    private readonly store: ServiceStore,
    private readonly opts: ServiceKeeperOptions,
  ) {}

  private instances(): LedgerTask[] {
    return [...this.ctx.ledger.all()].filter((t) => t.info.service !== undefined);
  }

  /**
   * Reads the desired state and stops instances nobody wants any more: services gone, instances
   * beyond the count, duplicates (the one this leader launched goes, an adopted one stays), and,
   * one at a time while the rest run, instances of an older definition (its replacement serves
   * the new one).
   */
  async refresh(): Promise<void> {
    this.desired = await this.store.load();
    this.loaded = true;
    const instances = this.instances();
    for (const id of this.stopping.keys()) if (!this.ctx.ledger.get(id)) this.stopping.delete(id);
    const seen = new Set<string>();
    const keep = (t: LedgerTask) => (t.adopted ? 0 : 1);
    for (const task of instances.sort((a, b) => keep(a) - keep(b) || a.launchedAtMs - b.launchedAtMs)) {
      const spec = task.info.service!;
      const key = `${spec.name}/${spec.instance}`;
      const def = this.desired.get(spec.name);
      const surplus = !def || spec.instance >= def.instances || seen.has(key);
      seen.add(key);
      if (surplus) this.stop(task, 'nobody wants it any more');
    }
    for (const def of this.desired.values()) {
      const mine = instances.filter((t) => t.info.service!.name === def.name && !this.stopping.has(t.taskId));
      const version = serviceVersion(def);
      const outdated = mine.find((t) => t.info.service!.version !== version);
      const allUp = mine.length >= def.instances && mine.every((t) => t.state === 'TASK_RUNNING');
      const rolling = instances.some((t) => t.info.service!.name === def.name && this.stopping.has(t.taskId));
      if (outdated && allUp && !rolling) this.stop(outdated, 'it serves an older definition');
    }
    for (const key of this.missingSince.keys()) {
      const [name, instance] = key.split('/');
      const def = this.desired.get(name!);
      if (!def || Number(instance) >= def.instances) this.missingSince.delete(key);
    }
  }

  private stop(task: LedgerTask, why: string): void {
    const now = this.ctx.now();
    const sentAt = this.stopping.get(task.taskId);
    if (sentAt !== undefined && now - sentAt < KILL_RESEND_MS) return;
    this.stopping.set(task.taskId, now);
    const spec = task.info.service!;
    this.ctx.log.info('stopping a service instance', { service: spec.name, instance: spec.instance, executor: task.executorId, port: spec.port, why });
    this.ctx.send(task.executorId, { kind: 'kill', taskId: task.taskId, reason: 'TASK_KILLED' });
  }

  /** Instances are missing, so declined executors should offer again. */
  wantsOffers(): boolean {
    return this.loaded && this.missing().length > 0;
  }

  private missing(): { def: ServiceDef; instance: number }[] {
    const running = new Set(this.instances().map((t) => `${t.info.service!.name}/${t.info.service!.instance}`));
    const out: { def: ServiceDef; instance: number }[] = [];
    for (const def of [...this.desired.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      for (let i = 0; i < def.instances; i++) if (!running.has(`${def.name}/${i}`)) out.push({ def, instance: i });
    }
    return out;
  }

  /** Places missing instances on this offer (the offer responder calls it before image work). */
  plan(offer: Offer): { tasks: TaskInfo[]; used: Resources } {
    const ctx = this.ctx;
    const record = ctx.registry.get(offer.executorId);
    if (!this.loaded || !record || record.draining || record.lost) return { tasks: [], used: EMPTY };
    const total = record.total.cpus > 0 ? record.total : offer.resources;
    const instances = this.instances();
    const onThis = instances.filter((t) => t.executorId === offer.executorId);
    let serviceUsed = onThis.reduce<Resources>((sum, t) => add(sum, { ...t.info.resources, ports: [] }), EMPTY);
    let remaining = offer.resources;
    const tasks: TaskInfo[] = [];
    const now = ctx.now();
    for (const { def, instance } of this.missing()) {
      const key = `${def.name}/${instance}`;
      if (!this.missingSince.has(key)) this.missingSince.set(key, now);
      const need: Resources = { cpus: def.cpus, memMb: def.memMb, ports: [] };
      const port = takePorts(remaining.ports, 1)?.[0];
      if (!port || remaining.cpus + EPSILON < need.cpus || remaining.memMb + EPSILON < need.memMb) continue;
      if (serviceUsed.cpus + need.cpus > total.cpus * this.opts.serviceShare + EPSILON) continue;
      if (serviceUsed.memMb + need.memMb > total.memMb * this.opts.serviceShare + EPSILON) continue;
      if (this.shouldSpread(def.name, offer.executorId, tasks, now - this.missingSince.get(key)!)) continue;
      const resources: Resources = { ...need, ports: [{ begin: port.begin, end: port.begin }] };
      const info: TaskInfo = {
        taskId: `svc-${def.name}-${instance}-${randomUUID().slice(0, 8)}`,
        name: `service ${def.name}/${instance}`,
        executorId: offer.executorId,
        resources,
        images: [],
        service: { name: def.name, instance, body: def.body, contentType: def.contentType, healthPath: def.healthPath, port: port.begin, version: serviceVersion(def) },
      };
      ctx.ledger.add({
        taskId: info.taskId,
        executorId: offer.executorId,
        info,
        launchedAtMs: now,
        adopted: false,
        state: 'TASK_STAGING',
        stage: 'none',
        healthy: undefined,
        items: new Map(),
        seenUuids: new Set(),
      });
      this.missingSince.delete(key);
      tasks.push(info);
      remaining = subtract(remaining, resources);
      serviceUsed = add(serviceUsed, need);
      ctx.log.info('launching a service instance', { service: def.name, instance, executor: offer.executorId, port: port.begin });
    }
    return { tasks, used: tasks.reduce<Resources>((sum, t) => add(sum, t.resources), EMPTY) };
  }

  /**
   * True when this executor already runs an instance of the service while another live executor
   * with ports runs none: wait (a little) for that one's offer instead of doubling up here.
   */
  private shouldSpread(name: string, executorId: string, planned: TaskInfo[], missingForMs: number): boolean {
    if (missingForMs >= this.opts.spreadWaitMs) return false;
    const hosts = new Map<string, number>();
    for (const t of this.instances()) if (t.info.service!.name === name) hosts.set(t.executorId, (hosts.get(t.executorId) ?? 0) + 1);
    for (const t of planned) if (t.service!.name === name) hosts.set(t.executorId, (hosts.get(t.executorId) ?? 0) + 1);
    const here = hosts.get(executorId) ?? 0;
    if (here === 0) return false;
    return this.ctx.registry
      .live()
      .some((r) => r.id !== executorId && !r.draining && r.inboxHealthy && r.total.ports.length > 0 && (hosts.get(r.id) ?? 0) < here);
  }

  /** A status update of an instance. */
  async onUpdate(task: LedgerTask, status: TaskStatus): Promise<void> {
    const spec = task.info.service!;
    task.healthy = status.healthy === true;
    if (!isTerminal(status.state)) {
      if (task.state !== status.state) this.ctx.log.info('service instance running', { service: spec.name, instance: spec.instance, executor: task.executorId, port: spec.port, healthy: task.healthy });
      return;
    }
    const wanted = !this.stopping.delete(task.taskId);
    const level = wanted && status.state !== 'TASK_FINISHED' ? 'warn' : 'info';
    this.ctx.log[level]('service instance ended', {
      service: spec.name,
      instance: spec.instance,
      executor: task.executorId,
      state: status.state,
      reason: status.reason,
      message: status.message || undefined,
      replaced: wanted && this.desired.has(spec.name) ? true : undefined,
    });
    this.ctx.ledger.forget(task.taskId);
  }

  /** A running instance an executor reported to a new leader: adopted when it is still wanted. */
  async adopt(executorId: string, report: TaskReport): Promise<boolean> {
    const spec = report.info.service!;
    if (isTerminal(report.status.state)) {
      if (report.status.uuid !== undefined) this.ctx.send(executorId, { kind: 'acknowledge', taskId: report.info.taskId, uuid: report.status.uuid });
      return true;
    }
    if (this.ctx.ledger.get(report.info.taskId)) return true;
    const def = this.desired.get(spec.name);
    const taken = this.instances().some((t) => t.info.service!.name === spec.name && t.info.service!.instance === spec.instance);
    if (!def || spec.instance >= def.instances || taken) return false;
    this.ctx.ledger.add({
      taskId: report.info.taskId,
      executorId,
      info: report.info,
      launchedAtMs: this.ctx.now(),
      adopted: true,
      state: report.status.state,
      stage: report.status.stage,
      healthy: report.status.healthy === true,
      items: new Map(),
      seenUuids: new Set(),
    });
    this.ctx.log.info('adopted a service instance', { service: spec.name, instance: spec.instance, executor: executorId, port: spec.port });
    return true;
  }
}
