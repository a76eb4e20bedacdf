/** Settings for the command-line clients that add jobs (`enqueue`). */
import { EnvReader } from '../common/config.js';
import { DEFAULT_JOB_POLICY, DEFAULT_QUEUE_NAME, type JobPolicy } from '../common/queue.js';

export interface ClientConfig {
  redisUrl: string;
  queueName: string;
  /** Where relative lines of an images.txt point; always ends with `/`. */
  imagesBaseUrl: string;
  jobPolicy: JobPolicy;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_FILESERVER_URL = 'http://127.0.0.1:8080';

export function loadClientConfig(env: Record<string, string | undefined>): Readonly<ClientConfig> {
  const read = new EnvReader(env);
  const redisUrl = read.url('REDIS_URL', DEFAULT_REDIS_URL, ['redis:', 'rediss:']);
  const queueName = read.string('QUEUE_NAME', DEFAULT_QUEUE_NAME);
  // BullMQ builds Redis keys as prefix:name:suffix, so a colon in the name is rejected.
  if (queueName.includes(':')) read.problem(`QUEUE_NAME=${JSON.stringify(queueName)} must not contain ":"`);
  const fileserverUrl = read.url('FILESERVER_URL', DEFAULT_FILESERVER_URL);
  const imagesBaseUrl = read.url('IMAGES_BASE_URL', new URL('images/', withTrailingSlash(fileserverUrl)).href);
  const attempts = read.int('JOB_ATTEMPTS', DEFAULT_JOB_POLICY.attempts, { min: 1, max: 100 });
  const backoffMs = read.int('JOB_BACKOFF_MS', DEFAULT_JOB_POLICY.backoffMs, { min: 0, max: 24 * 3600 * 1000 });
  return read.done({
    redisUrl,
    queueName,
    imagesBaseUrl: withTrailingSlash(imagesBaseUrl),
    jobPolicy: { ...DEFAULT_JOB_POLICY, attempts, backoffMs },
  });
}

/** `http://host/images` would resolve `cat.png` to `http://host/cat.png`. */
function withTrailingSlash(url: string): string {
  const parsed = new URL(url);
  if (!parsed.pathname.endsWith('/')) parsed.pathname += '/';
  return parsed.href;
}
