/**
 * Reads everything `status` and the dashboard show from Redis, in one go: BullMQ's job counts,
 * the leader lease, every scheduler's presence, the state the leader publishes, and services.
 * The only I/O of status; formatting is in status-format.ts.
 */
import type { Queue } from 'bullmq';
import { scanKeys, type RedisClient } from '../common/redis.js';
import { STATE_TTL_MS, type ClusterState } from '../common/cluster-state.js';
import type { Keys } from '../common/keys.js';
import { parseService, type ServiceDef } from '../common/service-def.js';
import { parseLease } from '../common/lease-holder.js';
import { instanceRows, type InstanceRow } from './service-list.js';


export interface QueueCounts {
  waiting: number;
  prioritized: number;
  active: number;
  delayed: number;
  paused: number;
  waitingChildren: number;
  completed: number;
  failed: number;
}

export interface SchedulerPresence {
  schedulerId: string;
  role: 'leader' | 'standby' | string;
  epoch?: number;
  sinceMs?: number;
  host?: string;
  pid?: number;
}

/** What `status --json` prints and the dashboard's /api/cluster answers. */
export interface ClusterSnapshot {
  queueName: string;
  atMs: number;
  queue: { paused: boolean; counts: QueueCounts };
  /** From the lease key; undefined when nobody leads. */
  leader?: { schedulerId: string; epoch: number; sinceMs?: number };
  schedulers: SchedulerPresence[];
  /** Published by the leader once a second; null when none did in the last stateTtlSeconds. */
  state: ClusterState | null;
  stateTtlSeconds: number;
  services: InstanceRow[];
}

/**
 * BullMQ's getJobCounts() as we show it. BullMQ 6 keeps a paused queue's jobs where they wait
 * (there is no paused list any more), so `paused` counts the waiting jobs a paused queue holds.
 */
export function queueCountsFrom(raw: Record<string, number>, queuePaused: boolean): QueueCounts {
  const n = (k: string) => raw[k] ?? 0;
  const waiting = n('waiting') || n('wait');
  return {
    waiting,
    prioritized: n('prioritized'),
    active: n('active'),
    delayed: n('delayed'),
    paused: queuePaused ? waiting + n('prioritized') : n('paused'),
    waitingChildren: n('waiting-children'),
    completed: n('completed'),
    failed: n('failed'),
  };
}

/** Parses a presence value; undefined for anything that is not one (hostile or stale data is skipped). */
export function parsePresence(text: string | null): SchedulerPresence | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as Partial<SchedulerPresence>;
    if (typeof v.schedulerId !== 'string' || typeof v.role !== 'string') return undefined;
    return v as SchedulerPresence;
  } catch {
    return undefined;
  }
}

export function parseState(text: string | null): ClusterState | null {
  if (!text) return null;
  try {
    const v = JSON.parse(text) as Partial<ClusterState>;
    return v && v.version === 1 && Array.isArray(v.executors) ? (v as ClusterState) : null;
  } catch {
    return null;
  }
}

async function presences(redis: RedisClient, keys: Keys): Promise<SchedulerPresence[]> {
  const names = await scanKeys(redis, keys.schedulerPresencePattern, 200);
  if (names.length === 0) return [];
  const values = await redis.mget(...names);
  return values.map(parsePresence).filter((p): p is SchedulerPresence => p !== undefined).sort((a, b) => a.schedulerId.localeCompare(b.schedulerId));
}

export async function readClusterSnapshot(redis: RedisClient, queue: Queue, keys: Keys, nowMs = Date.now()): Promise<ClusterSnapshot> {
  const [rawCounts, paused, lease, stateText, servicesHash, schedulers] = await Promise.all([
    queue.getJobCounts(),
    queue.isPaused(),
    redis.get(keys.leader),
    redis.get(keys.state),
    redis.hgetall(keys.services),
    presences(redis, keys),
  ]);
  const state = parseState(stateText);
  const desired = new Map<string, ServiceDef>();
  for (const [name, text] of Object.entries(servicesHash)) {
    const { service } = parseService(text);
    if (service) desired.set(name, service);
  }
  const snapshot: ClusterSnapshot = {
    queueName: queue.name,
    atMs: nowMs,
    queue: { paused, counts: queueCountsFrom(rawCounts, paused) },
    schedulers,
    state,
    stateTtlSeconds: STATE_TTL_MS / 1000,
    services: instanceRows(desired, state ?? undefined, nowMs),
  };
  const holder = parseLease(lease);
  if (holder) {
    const since = state?.leader.schedulerId === holder.schedulerId ? state.leader.sinceMs : schedulers.find((s) => s.schedulerId === holder.schedulerId)?.sinceMs;
    snapshot.leader = since === undefined ? holder : { ...holder, sinceMs: since };
  }
  return snapshot;
}
