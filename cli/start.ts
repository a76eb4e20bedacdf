/** `npm start`: fileserver, scheduler and executors in one terminal until Ctrl-C. */
import { ConfigError } from '../common/config.js';
import { createLogger } from '../common/log.js';
import { onShutdownSignal } from '../common/shutdown.js';
import { launchStack, StackError } from '../stack/launch-stack.js';
import { loadStackConfig } from '../stack/stack-config.js';

const log = createLogger({ proc: 'start' });

try {
  const config = loadStackConfig(process.env, 8080);
  const stack = await launchStack(config, log);
  onShutdownSignal(log, () => stack.stop());
  const redisHint = stack.redisUrl === config.redisUrl ? '' : `REDIS_URL=${stack.redisUrl} `;
  const schedulers = config.schedulers > 1 ? `${config.schedulers} schedulers, ` : '';
  const fileserverHint = stack.fileserverUrl === 'http://127.0.0.1:8080' ? '' : `FILESERVER_URL=${stack.fileserverUrl} `;
  console.log(
    [
      '',
      `pipeline is up: fileserver ${stack.fileserverUrl}, ${schedulers}${config.executors} executors, redis ${stack.redisUrl}, queue "${config.queueName}"`,
      `  add work (another terminal):  ${redisHint}${fileserverHint}npm run enqueue images.txt`,
      `  results:                      ${config.uploadDir}  (also ${stack.fileserverUrl}/files/<name>)`,
      ...(stack.metrics.length > 0 ? [`  metrics (Prometheus):         ${stack.metrics.map((m) => `${m.process} ${m.url}`).join(', ')}`] : []),
      `  stop:                         Ctrl-C (running tasks finish first)`,
      '',
    ].join('\n'),
  );
  // Dead processes are restarted (stack/restart-policy.ts); only one that keeps dying ends the stack.
  const failure = await stack.gaveUp;
  log.error('gave up restarting a pipeline process; stopping', { process: failure.process, reason: failure.reason });
  await stack.stop();
  process.exit(1);
} catch (err) {
  if (err instanceof ConfigError || err instanceof StackError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
