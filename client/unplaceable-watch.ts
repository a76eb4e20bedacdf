/**
 * Follows what the leader publishes about the cluster (keys.state) for `unplaceable`: a task
 * size no registered executor can fit. `batch` shows it and gives up after a while instead of
 * waiting forever. `unplaceableStep` is the pure decision; `watchUnplaceable` polls Redis.
 */
import type { RedisClient } from '../common/redis.js';
import type { ClusterState } from '../common/cluster-state.js';
import type { Keys } from '../common/keys.js';

export interface UnplaceableTrack {
  /** Set while the cluster says unplaceable: since when (continuously). */
  sinceMs: number | undefined;
  reason: string | undefined;
}

export type UnplaceableStep = UnplaceableTrack & { giveUp: boolean; changed: boolean };

/** One poll's verdict: a reason seen for `waitMs` without a break means give up. */
export function unplaceableStep(prev: UnplaceableTrack, reason: string | undefined, nowMs: number, waitMs: number): UnplaceableStep {
  if (reason === undefined) return { sinceMs: undefined, reason: undefined, giveUp: false, changed: prev.reason !== undefined };
  const sinceMs = prev.sinceMs ?? nowMs;
  return { sinceMs, reason, giveUp: nowMs - sinceMs >= waitMs, changed: prev.reason !== reason };
}

/** The `unplaceable` of a published state, tolerating a missing or malformed key. */
export function unplaceableOf(text: string | null): string | undefined {
  if (text === null) return undefined;
  try {
    const state = JSON.parse(text) as Partial<ClusterState>;
    return typeof state.unplaceable === 'string' && state.unplaceable !== '' ? state.unplaceable : undefined;
  } catch {
    return undefined;
  }
}

export class UnplaceableError extends Error {
  override readonly name = 'UnplaceableError';
}

export interface UnplaceableWatch {
  /** Rejects with UnplaceableError when the wait is over; never resolves. */
  gaveUp: Promise<never>;
  stop(): void;
}

export function watchUnplaceable(
  redis: RedisClient,
  keys: Keys,
  opts: { waitMs: number; pollMs?: number; onChange: (reason: string | undefined) => void },
): UnplaceableWatch {
  let track: UnplaceableTrack = { sinceMs: undefined, reason: undefined };
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const gaveUp = new Promise<never>((_, reject) => {
    const poll = async () => {
      // A failed read (Redis reconnecting) is no evidence either way: keep the track as it was.
      const text = await redis.get(keys.state).catch(() => undefined);
      if (stopped) return;
      if (text !== undefined) {
        const step = unplaceableStep(track, unplaceableOf(text), Date.now(), opts.waitMs);
        track = step;
        if (step.changed) opts.onChange(step.reason);
        if (step.giveUp) {
          const seconds = Math.round(opts.waitMs / 1000);
          reject(new UnplaceableError(`gave up after ${seconds} s: ${step.reason} (BATCH_UNPLACEABLE_WAIT_MS sets how long to wait)`));
          return;
        }
      }
      timer = setTimeout(() => void poll(), opts.pollMs ?? 1000);
    };
    void poll();
  });
  gaveUp.catch(() => undefined);
  return {
    gaveUp,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
