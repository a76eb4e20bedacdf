/**
 * Least-privilege Redis ACL rules per role, for one queue. docs/deployment.md shows them and the ACL
 * test runs the whole pipeline under them:
 * - scheduler: BullMQ's keys of the queue and this project's keys of the queue, the lease
 *   release channel, scripts; no administration.
 * - executor: only this project's keys of the queue (its inbox, the scheduler inbox, its alive
 *   key, the executor set): no job data, no scripts, nothing of other queues.
 * - producer (enqueue, status): BullMQ's keys of the queue and reading this project's.
 */
import { BULL_PREFIX, KEY_PREFIX } from '../common/keys.js';

export interface AclRules {
  scheduler: string;
  executor: string;
  producer: string;
}

/** Commands every client needs to connect: ioredis's ready check (INFO) and client naming. Last: INFO is in @dangerous. */
const CONNECT = '+@connection +info +client|setname';

export function aclRules(queueName: string): AclRules {
  const bull = `~${BULL_PREFIX}:${queueName}:*`;
  const own = `~${KEY_PREFIX}:${queueName}:*`;
  const channel = `&${KEY_PREFIX}:${queueName}:*`;
  return {
    scheduler: `resetkeys ${bull} ${own} resetchannels ${channel} -@all +@read +@write +@stream +@list +@hash +@set +@sortedset +@string +@keyspace +@pubsub +@scripting -@dangerous ${CONNECT}`,
    executor: `resetkeys ${own} resetchannels -@all +xadd +xreadgroup +xack +xdel +xgroup|create +set +sadd +expire ${CONNECT}`,
    producer: `resetkeys ${bull} %R${own} resetchannels -@all +@read +@write +@stream +@list +@hash +@set +@sortedset +@string +@keyspace +@scripting -@dangerous ${CONNECT}`,
  };
}
