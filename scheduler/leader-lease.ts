/**
 * The leader lease: one key taken with SET NX PX, renewed by a compare-and-extend script,
 * released by compare-and-delete. Every acquisition increments the fencing epoch in the same
 * script, so each leader's Calls carry a number higher than any earlier leader's and executors
 * can drop a deposed leader's Calls.
 *
 * The holder treats its lease as valid only until `renewedAt + ttl - margin` by its own clock,
 * counted from when the renewal was *sent*: if it cannot renew in time it stops acting before
 * the key can expire in Redis and another scheduler take over.
 */
import type { RedisClient } from '../common/redis.js';
import type { Keys } from '../common/keys.js';
// The value's reader is shared with executors and clients, so it lives in common/.
import { parseLease, type LeaseHolder } from '../common/lease-holder.js';

// The epoch never goes back, even if Redis lost the counter (a restart without persistence, an
// AOF without the last second): it is at least the acquirer's clock in milliseconds.
const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local epoch = redis.call('INCR', KEYS[2])
  local floor = tonumber(ARGV[3])
  if epoch < floor then
    epoch = floor
    redis.call('SET', KEYS[2], epoch)
  end
  redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. epoch, 'PX', ARGV[2])
  return epoch
end
return 0`;

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', KEYS[2], ARGV[1])
  return 1
end
return 0`;

interface LeaseClient {
  leaseAcquire(lease: string, epoch: string, holder: string, ttlMs: number, floor: number): Promise<number>;
  leaseRenew(lease: string, value: string, ttlMs: number): Promise<number>;
  leaseRelease(lease: string, channel: string, value: string): Promise<number>;
}

export class LeaderLease {
  private value: string | undefined;
  private validUntilMs = 0;
  epoch = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    readonly schedulerId: string,
    readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    redis.defineCommand('leaseAcquire', { numberOfKeys: 2, lua: ACQUIRE });
    redis.defineCommand('leaseRenew', { numberOfKeys: 1, lua: RENEW });
    redis.defineCommand('leaseRelease', { numberOfKeys: 2, lua: RELEASE });
  }

  private get client(): LeaseClient {
    return this.redis as unknown as LeaseClient;
  }

  /** Margin kept against clock drift and the time a reply takes. */
  private get marginMs(): number {
    return Math.min(1000, this.ttlMs / 5);
  }

  /** Takes the lease if nobody holds it; returns the new epoch, or undefined. */
  async tryAcquire(): Promise<number | undefined> {
    const sentAt = this.now();
    const epoch = Number(await this.client.leaseAcquire(this.keys.leader, this.keys.epoch, this.schedulerId, this.ttlMs, sentAt));
    if (!epoch) return undefined;
    this.epoch = epoch;
    this.value = `${this.schedulerId} ${epoch}`;
    this.validUntilMs = sentAt + this.ttlMs - this.marginMs;
    return epoch;
  }

  /** Extends the lease; false when it is no longer ours. */
  async renew(): Promise<boolean> {
    if (!this.value) return false;
    const sentAt = this.now();
    const ok = (await this.client.leaseRenew(this.keys.leader, this.value, this.ttlMs)) === 1;
    if (ok) this.validUntilMs = sentAt + this.ttlMs - this.marginMs;
    else this.forget();
    return ok;
  }

  /** True while this process may act as leader. */
  valid(): boolean {
    return this.value !== undefined && this.now() < this.validUntilMs;
  }

  /** Gives the lease up at once (SIGTERM handover) and tells standbys. */
  async release(): Promise<void> {
    const value = this.value;
    this.forget();
    if (value) await this.client.leaseRelease(this.keys.leader, this.keys.leaderReleased, value);
  }

  forget(): void {
    this.value = undefined;
    this.validUntilMs = 0;
  }

  /** Who leads now, as Redis says. */
  async holder(): Promise<LeaseHolder | undefined> {
    return parseLease(await this.redis.get(this.keys.leader));
  }
}
