/**
 * Checks `enqueue` makes before adding work, so a user learns now (not from failed jobs) that
 * the images' server is down or that no scheduler will ever pick the jobs up.
 */
import { connectTarget, probeOptions, scanKeys, type RedisClient } from '../common/redis.js';
import { keysFor, type Keys } from '../common/keys.js';
import { parseRedisUrl } from '../common/redis-url.js';

export type Probe = { answers: true; status: number } | { answers: false; why: string };

export const PROBE_TIMEOUT_MS = 2000;

/** Any HTTP answer counts (a 404 for the folder still proves a server is there). */
export async function probeUrl(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<Probe> {
  try {
    const res = await fetch(url, { method: 'HEAD', redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return { answers: true, status: res.status };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if ((err as Error).name === 'TimeoutError') return { answers: false, why: `no answer within ${timeoutMs} ms` };
    return { answers: false, why: cause?.code ?? (err as Error).message };
  }
}

/** The first URL of the list that points under `base` (what relative lines resolve to), if any. */
export function firstUnderBase(urls: readonly string[], base: string): string | undefined {
  return urls.find((url) => url.startsWith(base));
}

export function nothingAnswersMessage(base: string, why: string): string {
  return (
    `nothing answers at ${base} (${why}): is the stack running? ` +
    'Start it with `npm start`, or set FILESERVER_URL/IMAGES_BASE_URL (or PORT, as for npm start) to where your images are served; ' +
    '--no-check skips this check'
  );
}

/** True when a leader holds the lease, or at least one scheduler (a standby about to lead) is alive. */
export async function schedulerServes(redis: RedisClient, keys: Keys): Promise<boolean> {
  if ((await redis.exists(keys.leader)) === 1) return true;
  return (await scanKeys(redis, keys.schedulerPresencePattern, 1000)).length > 0;
}

export function noSchedulerWarning(queueName: string): string {
  return `warning: no scheduler serves queue "${queueName}" right now: the jobs wait until one starts (npm start, or npm run scheduler with QUEUE_NAME=${queueName})`;
}

/**
 * The scheduler holding the queue's leader lease at `url`, or undefined when none does or nothing
 * answers there (`batch` then starts its own Redis). A short-lived probe, not a lasting connection.
 */
export async function leadingScheduler(url: string, queueName: string, timeoutMs = 1000): Promise<string | undefined> {
  const target = parseRedisUrl(url);
  const keys = keysFor(queueName, target.topology === 'cluster');
  const probe = connectTarget(target, 'probe', probeOptions(timeoutMs));
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    const holder = await probe.get(keys.leader);
    return holder === null ? undefined : (holder.split(' ')[0] ?? holder);
  } catch {
    return undefined;
  } finally {
    probe.disconnect();
  }
}

/** Why `batch` will not run on a queue another stack serves: that stack's executors would take its jobs. */
export function queueAlreadyServedMessage(queueName: string, scheduler: string, file: string): string {
  return (
    `batch: queue "${queueName}" is already served by a running scheduler (${scheduler}; an \`npm start\`?): ` +
    `it would take this batch's jobs, against sources its fileserver does not serve. ` +
    `Stop it, add the list to it with \`npm run enqueue ${file}\`, or give the batch its own queue: QUEUE_NAME=batch-1 npm run batch -- ${file}`
  );
}
