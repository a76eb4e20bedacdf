/**
 * Every Redis key this project writes besides BullMQ's own, in one place, so tools that read
 * them (status, dashboard, cancel, service) and the processes that write them never disagree.
 * All live under `offer-invert:<queue>:`, one namespace per queue, so test runs never collide.
 *
 * On a Redis Cluster the queue name is a hash tag (`offer-invert:{<queue>}:`, BullMQ's prefix
 * `bull:{<queue>}`), so every key of a queue, ours and BullMQ's, lives in one slot and every
 * script, MULTI and pipeline touches one slot. A single server or Sentinel keeps the untagged
 * layout, so existing deployments need no migration.
 */
export const KEY_PREFIX = 'offer-invert';
/** BullMQ's default key prefix: jobs live under `bull:<queue>:`. */
export const BULL_PREFIX = 'bull';

/**
 * The scheduler inbox is trimmed to about this many entries, so a long time without a leader
 * cannot fill Redis; nothing is lost by it: executors re-send unacknowledged terminal updates
 * and offers, and heartbeats are only ever useful fresh.
 */
export const SCHEDULER_INBOX_MAX_LEN = 100_000;

export interface Keys {
  /** Everything of this queue matches `${base}:*`. */
  base: string;
  /** Stream: executor events for the leading scheduler. */
  schedulerInbox: string;
  /** Stream: calls for one executor. */
  executorInbox(executorId: string): string;
  /** String "<seq>": bumped by the executor on every heartbeat; liveness is judged by its progress. */
  executorAlive(executorId: string): string;
  /** Set of executor ids that have announced themselves; a new leader drops those whose alive key expired. */
  executors: string;
  /** String "<schedulerId> <epoch>" with a TTL: the leader lease. */
  leader: string;
  /** Counter: the fencing epoch, incremented by every new leader. */
  epoch: string;
  /** Pub/sub channel: a leader released its lease (standbys take over at once). */
  leaderReleased: string;
  /** String with a TTL, one per scheduler instance: its role, for status. */
  schedulerPresence(schedulerId: string): string;
  /** Pattern matching every schedulerPresence key. */
  schedulerPresencePattern: string;
  /** String (JSON) with a TTL: what the leader publishes about the cluster. */
  state: string;
  /** Hash: service name -> desired state (JSON). */
  services: string;
  /** Set of job ids a user cancelled while they ran. */
  cancelled: string;
}

/** The queue name as it appears in keys: a hash tag on a Cluster. */
function tagged(queueName: string, clustered: boolean): string {
  return clustered ? `{${queueName}}` : queueName;
}

/** BullMQ's `prefix` option for a queue: its jobs live under `${prefix}:<queue>:`. */
export function bullPrefixFor(queueName: string, clustered = false): string {
  return clustered ? `${BULL_PREFIX}:${tagged(queueName, true)}` : BULL_PREFIX;
}

export function keysFor(queueName: string, clustered = false): Keys {
  const base = `${KEY_PREFIX}:${tagged(queueName, clustered)}`;
  return {
    base,
    schedulerInbox: `${base}:scheduler:inbox`,
    executorInbox: (id) => `${base}:executor:${id}:inbox`,
    executorAlive: (id) => `${base}:executor:${id}:alive`,
    executors: `${base}:executors`,
    leader: `${base}:leader`,
    epoch: `${base}:epoch`,
    leaderReleased: `${base}:leader:released`,
    schedulerPresence: (id) => `${base}:scheduler:${id}:presence`,
    schedulerPresencePattern: `${base}:scheduler:*:presence`,
    state: `${base}:state`,
    services: `${base}:services`,
    cancelled: `${base}:cancelled`,
  };
}
