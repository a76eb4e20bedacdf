/** `npm start`: fileserver, scheduler and executors in one terminal until Ctrl-C. */
import { ConfigError } from '../common/config.js';
import { DEFAULT_QUEUE_NAME } from '../common/queue.js';
import { loadDashboardConfig, parseDashboardPort } from '../dashboard/dashboard-config.js';
import { guardProcess } from '../common/background.js';
import { createLogger } from '../common/log.js';
import { onShutdownSignal } from '../common/shutdown.js';
import { launchStack, StackError } from '../stack/launch-stack.js';
import { loadStackConfig } from '../stack/stack-config.js';
import { DEFAULT_FILESERVER_PORT, DEFAULT_FILESERVER_URL } from '../common/defaults.js';

const USAGE = `usage: offer-invert start      (npm start)
Runs the pipeline in this terminal until Ctrl-C: a fileserver, the scheduler(s) and executors,
and a private redis-server when REDIS_URL is unset and none answers. Then, in another terminal:
offer-invert enqueue images.txt, offer-invert status.
environment: REDIS_URL, QUEUE_NAME, PORT, HOST, EXECUTORS, SCHEDULERS, EXECUTOR_CPUS, EXECUTOR_PORTS,
  UPLOAD_DIR, IMAGES_DIR, UPLOAD_TOKEN, JOB_ATTEMPTS, JOB_BACKOFF_MS, LOG_LEVEL (docs/configuration.md)`;

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
if (args.length > 0) {
  console.error(`start: unexpected argument ${JSON.stringify(args[0])}: settings come from the environment (see --help)`);
  process.exit(2);
}

const log = createLogger({ proc: 'start' });
// Last resort: a rejection nobody handled is logged, and the process keeps serving.
guardProcess(log);

try {
  const config = loadStackConfig(process.env, DEFAULT_FILESERVER_PORT);
  // The dashboard comes along unless DASHBOARD_PORT=off; its settings are checked here, before anything starts.
  const dashboard = parseDashboardPort(process.env.DASHBOARD_PORT) === 'off' ? undefined : loadDashboardConfig(process.env);
  const stack = await launchStack(
    dashboard ? { ...config, dashboard: { port: dashboard.port, host: dashboard.host, portChosen: process.env.DASHBOARD_PORT?.trim() ? true : false } } : config,
    log,
  );
  onShutdownSignal(log, () => stack.stop());
  // The commands to copy into another terminal must name everything that is not a default there.
  const redisHint =
    (stack.redisUrl === config.redisUrl ? '' : `REDIS_URL=${stack.redisUrl} `) +
    (config.queueName === DEFAULT_QUEUE_NAME ? '' : `QUEUE_NAME=${config.queueName} `);
  const schedulers = config.schedulers > 1 ? `${config.schedulers} schedulers, ` : '';
  const fileserverHint = stack.fileserverUrl === DEFAULT_FILESERVER_URL ? '' : `FILESERVER_URL=${stack.fileserverUrl} `;
  console.log(
    [
      '',
      `pipeline is up: fileserver ${stack.fileserverUrl}, ${schedulers}${config.executors} executors, redis ${stack.redisUrl}, queue "${config.queueName}"`,
      `  add work (another terminal):  ${redisHint}${fileserverHint}npm run enqueue images.txt`,
      `  results:                      ${config.uploadDir}  (also ${stack.fileserverUrl}/files/<name>)`,
      `  watch:                        ${redisHint}npm run status -- --watch${stack.dashboardUrl ? `   or open ${stack.dashboardUrl}${dashboard?.token ? '?token=$DASHBOARD_TOKEN' : ''}` : ''}`,
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
