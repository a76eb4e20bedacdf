/** Settings for the command-line clients that add jobs (`enqueue`, `retry-failed`). */
import { EnvReader } from '../common/config.js';
import { DEFAULT_FILESERVER_HOST, DEFAULT_FILESERVER_PORT, DEFAULT_REDIS_URL } from '../common/defaults.js';
import { readQueueName } from '../common/queue-name.js';
import { DEFAULT_JOB_POLICY, type JobPolicy } from '../common/queue.js';

export interface ClientConfig {
  redisUrl: string;
  queueName: string;
  /** The fileserver of the user's stack: FILESERVER_URL, else what `npm start` uses for HOST/PORT. */
  fileserverUrl: string;
  /** Where relative lines of an images.txt point; always ends with `/`. */
  imagesBaseUrl: string;
  jobPolicy: JobPolicy;
}

export { DEFAULT_FILESERVER_PORT, DEFAULT_FILESERVER_URL, DEFAULT_REDIS_URL } from '../common/defaults.js';

export function loadClientConfig(env: Record<string, string | undefined>): Readonly<ClientConfig> {
  const read = new EnvReader(env);
  const redisUrl = read.redisUrl('REDIS_URL', DEFAULT_REDIS_URL);
  const queueName = readQueueName(read);
  // The same PORT/HOST that `npm start` gives its fileserver, so an exported PORT reaches both.
  const port = read.int('PORT', DEFAULT_FILESERVER_PORT, { min: 0, max: 65535 });
  const host = connectHost(read.string('HOST', DEFAULT_FILESERVER_HOST));
  const fileserverUrl = read.url('FILESERVER_URL', `http://${host}:${port}`);
  if (port === 0 && read.optionalString('FILESERVER_URL') === undefined && read.optionalString('IMAGES_BASE_URL') === undefined) {
    read.problem('PORT=0 gives the fileserver a random port: set FILESERVER_URL to the URL `npm start` printed');
  }
  const imagesBaseUrl = read.url('IMAGES_BASE_URL', new URL('images/', withTrailingSlash(fileserverUrl)).href);
  const attempts = read.int('JOB_ATTEMPTS', DEFAULT_JOB_POLICY.attempts, { min: 1, max: 100 });
  const backoffMs = read.int('JOB_BACKOFF_MS', DEFAULT_JOB_POLICY.backoffMs, { min: 0, max: 24 * 3600 * 1000 });
  return read.done({
    redisUrl,
    queueName,
    fileserverUrl,
    imagesBaseUrl: withTrailingSlash(imagesBaseUrl),
    jobPolicy: { ...DEFAULT_JOB_POLICY, attempts, backoffMs },
  });
}

/** As stack/launch-stack.ts: a fileserver bound to every address is reached on loopback. */
function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** `http://host/images` would resolve `cat.png` to `http://host/cat.png`. */
function withTrailingSlash(url: string): string {
  const parsed = new URL(url);
  if (!parsed.pathname.endsWith('/')) parsed.pathname += '/';
  return parsed.href;
}
