/** Builds the ClusterState the leader publishes, and writes it. */
import type { RedisClient } from '../common/redis.js';
import { STATE_TTL_MS, type ClusterState, type PublishedTask } from '../common/cluster-state.js';
import type { Keys } from '../common/keys.js';
import type { Leader, LeaderOptions } from './leader.js';
import { neverFits } from './offer-matching.js';
import type { LedgerTask } from './task-ledger.js';

function publishedTask(t: LedgerTask): PublishedTask {
  const task: PublishedTask = {
    taskId: t.taskId,
    kind: t.info.service ? 'service' : 'images',
    state: t.state,
    stage: t.stage,
    startedAtMs: t.launchedAtMs,
    adopted: t.adopted,
    runs: [...t.items.values()].map((i) => ({ jobId: i.jobId, url: i.sourceUrl, state: i.state, stage: i.stage })),
  };
  if (t.info.service) {
    const s = t.info.service;
    task.service = { name: s.name, instance: s.instance, port: s.port, healthy: t.healthy };
  }
  return task;
}

export function clusterState(leader: Leader, opts: Readonly<LeaderOptions>, term: { schedulerId: string; epoch: number; sinceMs: number }, nowMs: number): ClusterState {
  const live = leader.registry.live();
  const state: ClusterState = {
    version: 1,
    publishedAtMs: nowMs,
    leader: term,
    taskDemand: opts.task,
    executors: [...leader.registry.all()].map((r) => ({
      id: r.id,
      hostname: r.hostname,
      advertiseHost: r.advertiseHost,
      total: r.total,
      used: r.used,
      running: r.running,
      declined: r.declined,
      draining: r.draining,
      inboxHealthy: r.inboxHealthy,
      lost: r.lost,
      lastHeartbeatMs: r.seqMovedAtMs,
      tasks: leader.ledger.tasksOn(r.id).map(publishedTask),
    })),
    offers: {
      received: leader.counters.offersReceived,
      accepted: leader.counters.offersAccepted,
      declined: leader.counters.offersDeclined,
      parkedJobs: leader.offers.parked.size,
    },
    circuits: leader.circuits.view(nowMs).map((c) => ({ host: c.host, state: c.state, failures: c.failures, openUntilMs: c.openUntilMs })),
    recent: [...leader.recent.all()],
  };
  const sized = live.filter((r) => r.total.cpus > 0);
  if (sized.length > 0 && sized.every((r) => neverFits(r.total, opts.task))) {
    state.unplaceable = `no executor can fit one image task (cpus=${opts.task.cpus} mem=${opts.task.memMb}MB): lower TASK_CPUS/TASK_MEM_MB or give executors more`;
  }
  return state;
}

export async function publishState(
  redis: RedisClient,
  keys: Keys,
  opts: Readonly<LeaderOptions>,
  leader: Leader,
  term: { schedulerId: string; epoch: number; sinceMs: number },
): Promise<void> {
  await redis.set(keys.state, JSON.stringify(clusterState(leader, opts, term, Date.now())), 'PX', STATE_TTL_MS);
}
