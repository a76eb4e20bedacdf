/**
 * What the small Redis-reading commands (status, service, cancel, retry-failed) share: a Redis
 * client only once something answers there, and one way to turn main's result into an exit code.
 */
import { ConfigError } from '../common/config.js';
import { connectTarget, redactUrl, redisAnswers, type ConnectionOptions, type RedisClient } from '../common/redis.js';
import { parseRedisUrl } from '../common/redis-url.js';

/**
 * A client for `url`, or undefined after one line saying nothing answers there (exit code 1).
 * Commands fail after a few tries rather than wait through an outage, unless `extra` says otherwise.
 */
export async function clientRedis(command: string, url: string, extra: ConnectionOptions = {}): Promise<RedisClient | undefined> {
  if (!(await redisAnswers(url, 2000))) {
    console.error(`${command}: Redis does not answer at ${redactUrl(url)} (start the stack with \`npm start\`, or set REDIS_URL)`);
    return undefined;
  }
  const redis = connectTarget(parseRedisUrl(url), command, { maxRetriesPerRequest: 3, retryStrategy: () => 200, ...extra });
  redis.on('error', () => undefined);
  return redis;
}

/** Runs an entry's main: its number is the exit code; a configuration error exits 2, anything else 1, with one line. */
export function runCli(command: string, main: (argv: string[]) => Promise<number>): void {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      console.error(`${command}: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = err instanceof ConfigError ? 2 : 1;
    },
  );
}
