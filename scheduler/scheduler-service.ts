/**
 * Wires a scheduler process to Redis and runs its leadership: standby until it holds the lease,
 * then a Leader term with the scheduler inbox, until SIGTERM (handover) or the lease is lost
 * (abdication, then standby again). Any number of schedulers may run; one leads.
 * main.ts runs one per process; integration tests run several in-process.
 */
import { hostname } from 'node:os';
import { type RedisClient, queueKeys } from '../common/redis.js';
import { inBackground } from '../common/background.js';
import { describeError } from '../common/errors.js';
import type { Keys } from '../common/keys.js';
import type { Logger } from '../common/log.js';
import { createRedis } from '../common/redis.js';
import { withinGrace, type StopOutcome } from '../common/shutdown.js';
import { parseService, type ServiceDef } from '../common/service-def.js';
import { decodeEvent, encodeCall } from '../protocol/codec.js';
import { decodingHandler } from '../transport/decoding-handler.js';
import { sendToStream, StreamInbox } from '../transport/stream-inbox.js';
import type { SchedulerConfig } from './config.js';
import { BullmqJobQueue } from './job-queue.js';
import { Leader, type LeaderPorts } from './leader.js';
import { LeaderLease } from './leader-lease.js';
import { publishState } from './state-publisher.js';

export interface SchedulerService {
  readonly schedulerId: string;
  /** The current term's leader, while this instance leads. */
  leader(): Leader | undefined;
  /** Resolves when this instance becomes the leader (tests). */
  elected(): Promise<Leader>;
  /** This leadership term's fencing epoch, while this instance leads. */
  epoch(): number | undefined;
  /** BullMQ's Prometheus export of the queue (see scheduler/metrics.ts). */
  queueMetrics(): Promise<string>;
  /** Hands over and disconnects, within SHUTDOWN_GRACE_MS; past it, says what it abandoned. */
  close(): Promise<StopOutcome>;
}


export function startSchedulerService(config: Readonly<SchedulerConfig>, log: Logger): SchedulerService {
  // Auto-pipelining coalesces the commands of one tick into one write: fewer syscalls per task.
  const commands = createRedis(config.redisUrl, log, 'scheduler', { autoPipelining: true });
  const inboxConnection = createRedis(config.redisUrl, log, 'scheduler-inbox');
  const bullConnection = createRedis(config.redisUrl, log, 'scheduler-bullmq', { autoPipelining: true });
  const subscriber = createRedis(config.redisUrl, log, 'scheduler-standby');
  const keys = queueKeys(commands, config.queueName);
  const queue = new BullmqJobQueue(bullConnection, config, log);
  const lease = new LeaderLease(commands, keys, config.schedulerId, config.leaseTtlMs);

  let term: { leader: Leader; inbox: StreamInbox; timers: NodeJS.Timeout[]; sinceMs: number } | undefined;
  let closing = false;
  let acquiring = false;
  const waiters: ((leader: Leader) => void)[] = [];
  const standbySinceMs = Date.now();
  let announcedStandby = false;

  const ports = (epoch: number): LeaderPorts => ({
    term: { epoch, valid: () => lease.valid() },
    queue,
    bus: {
      send: async (executorId, calls) => {
        const envelope = { epoch, schedulerId: config.schedulerId };
        return sendToStream(commands, keys.executorInbox(executorId), calls.map((c) => encodeCall(c, envelope)));
      },
      // Inboxes of executors that never come back expire; live ones are refreshed by heartbeats.
      keepInbox: async (executorId) => void (await commands.expire(keys.executorInbox(executorId), 86_400)),
    },
    alive: aliveReader(commands, keys),
    services: { load: () => loadServices(commands, keys, log) },
    cancels: {
      pending: () => commands.smembers(keys.cancelled),
      done: async (jobIds) => void (await commands.srem(keys.cancelled, ...jobIds)),
    },
    isCancelled: async (jobId) => (await commands.sismember(keys.cancelled, jobId)) === 1,
  });

  async function startTerm(epoch: number): Promise<void> {
    const termLog = log.child({ epoch });
    const leader = new Leader(ports(epoch), config, termLog, Date.now, config.circuits);
    const inbox = new StreamInbox(
      inboxConnection,
      { stream: keys.schedulerInbox, group: 'scheduler', consumer: config.schedulerId },
      decodingHandler(
        keys.schedulerInbox,
        decodeEvent,
        async (events) => {
          if (!lease.valid()) inBackground(termLog, 'stepping down', () => depose('the lease could not be renewed in time'));
          await leader.handleEvents(events);
        },
        termLog,
      ),
      termLog,
    );
    const sinceMs = Date.now();
    term = { leader, inbox, timers: [], sinceMs };
    termLog.info('leading', { scheduler: config.schedulerId, epoch });
    const current = term;
    // close() or a lost lease can end the term during any await below: stop there.
    const ended = () => term !== current;
    await inbox.ensureGroup();
    // What a dead or deposed leader read but never acknowledged is ours now.
    const claimed = await inbox.claimAbandoned(0);
    if (claimed > 0) termLog.info('took over unacknowledged events', { events: claimed });
    if (ended()) return;
    inbox.start();
    current.timers.push(
      setInterval(() => inBackground(termLog, 'renewing the lease', renew), Math.max(100, Math.floor(config.leaseTtlMs / 3))),
      setInterval(() => inBackground(termLog, 'claiming abandoned events', () => inbox.claimAbandoned(Math.max(5_000, config.leaseTtlMs * 2))), 5_000),
      setInterval(() => inBackground(termLog, 'publishing cluster state', publish), 1_000),
    );
    await leader.start();
    if (ended()) return;
    for (const resolve of waiters.splice(0)) resolve(leader);
  }

  async function renew(): Promise<void> {
    if (!term) return;
    try {
      if (!(await lease.renew())) await depose('another scheduler holds the lease');
    } catch (err) {
      if (!lease.valid()) await depose(`the lease could not be renewed: ${describeError(err)}`);
    }
  }

  async function depose(why: string): Promise<void> {
    const current = term;
    if (!current) return;
    term = undefined;
    lease.forget();
    for (const t of current.timers) clearInterval(t);
    current.leader.abdicate();
    log.warn('no longer leading; standing by', { why });
    await current.inbox.close().catch(() => undefined);
  }

  async function publish(): Promise<void> {
    const current = term;
    if (!current || !lease.valid()) return;
    await publishState(commands, keys, config, current.leader, { schedulerId: config.schedulerId, epoch: lease.epoch, sinceMs: current.sinceMs }).catch(
      (err) => log.debug('publishing state failed', { error: describeError(err) }),
    );
  }

  async function tryLead(): Promise<void> {
    if (term || closing || acquiring) return;
    acquiring = true;
    try {
      const epoch = await lease.tryAcquire();
      if (epoch !== undefined && closing) await lease.release();
      else if (epoch !== undefined) await startTerm(epoch);
      else if (!announcedStandby) {
        announcedStandby = true;
        const holder = await lease.holder();
        log.info('another scheduler leads; standing by', { leader: holder?.schedulerId, epoch: holder?.epoch });
      }
    } catch (err) {
      log.warn('leader election failed; will try again', { error: describeError(err) });
      if (term) await depose('start-up of the term failed');
    } finally {
      acquiring = false;
    }
  }

  async function announce(): Promise<void> {
    const role = term ? 'leader' : 'standby';
    const body = { schedulerId: config.schedulerId, role, epoch: term ? lease.epoch : undefined, sinceMs: term?.sinceMs ?? standbySinceMs, host: hostname(), pid: process.pid };
    await commands.set(keys.schedulerPresence(config.schedulerId), JSON.stringify(body), 'PX', 5_000).catch(() => undefined);
  }

  // A released lease is announced on a channel so a standby takes over at once, not at its next poll.
  subscriber.subscribe(keys.leaderReleased).catch((err) => log.warn('cannot watch for lease releases', { error: describeError(err) }));
  subscriber.on('message', () => inBackground(log, 'leader election', tryLead));
  const pollTimer = setInterval(() => inBackground(log, 'leader election', tryLead), Math.max(100, Math.floor(config.leaseTtlMs / 5)));
  const presenceTimer = setInterval(() => inBackground(log, 'announcing presence', announce), 1_000);
  inBackground(log, 'leader election', tryLead);
  inBackground(log, 'announcing presence', announce);

  return {
    schedulerId: config.schedulerId,
    leader: () => term?.leader,
    elected: () => (term ? Promise.resolve(term.leader) : new Promise((resolve) => waiters.push(resolve))),
    epoch: () => (term ? lease.epoch : undefined),
    queueMetrics: () => queue.exportPrometheusMetrics(),
    async close() {
      closing = true;
      clearInterval(pollTimer);
      clearInterval(presenceTimer);
      const current = term;
      term = undefined;
      // Bounded: with Redis away nothing below can finish (commands wait for a reconnect), and
      // the lease then simply expires.
      let step = 'removing its presence';
      const done = (async () => {
        if (current) {
          log.info('handing over leadership', { runningTasks: current.leader.activeTasks });
          for (const t of current.timers) clearInterval(t);
          // Stop reading first: events must stay pending for the next leader, not be consumed by a leader that has stopped.
          step = 'closing the status inbox';
          await current.inbox.close();
          step = `handing over ${current.leader.activeTasks} running tasks`;
          await current.leader.handover();
          step = 'releasing the lease';
          await lease.release().catch((err) => log.warn('could not release the lease; it expires on its own', { error: describeError(err) }));
        }
        step = 'removing its presence';
        await commands.del(keys.schedulerPresence(config.schedulerId)).catch(() => undefined);
        step = 'closing the queue';
        await queue.close();
      })();
      const outcome = await withinGrace(done, config.shutdownGraceMs, () => `${step} (redis ${commands.status})`);
      if (!outcome.clean) {
        log.error('stop abandoned after the grace period', { graceMs: config.shutdownGraceMs, abandoned: outcome.abandoned, leaseExpiresOnItsOwn: current !== undefined });
      }
      for (const c of [commands, inboxConnection, bullConnection, subscriber]) c.disconnect();
      return outcome;
    },
  };
}

/** The services' desired state; a definition that does not parse is reported and ignored. */
async function loadServices(redis: RedisClient, keys: Keys, log: Logger): Promise<Map<string, ServiceDef>> {
  const services = new Map<string, ServiceDef>();
  for (const [name, text] of Object.entries(await redis.hgetall(keys.services))) {
    const { service, problem } = parseService(text);
    if (service) services.set(name, service);
    else log.warn('service definition ignored', { service: name, problem });
  }
  return services;
}

function aliveReader(redis: RedisClient, keys: Keys): LeaderPorts['alive'] {
  return {
    knownExecutors: () => redis.smembers(keys.executors),
    forgetExecutors: async (ids) => void (await redis.srem(keys.executors, ...ids)),
    readSeqs: async (ids) => {
      const seqs = new Map<string, string>();
      if (ids.length === 0) return seqs;
      const values = await redis.mget(...ids.map((id) => keys.executorAlive(id)));
      ids.forEach((id, i) => {
        const value = values[i];
        if (typeof value === 'string') seqs.set(id, value);
      });
      return seqs;
    },
  };
}
