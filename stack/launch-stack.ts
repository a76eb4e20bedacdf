/**
 * Brings up the whole pipeline on one machine as separate processes (fileserver, scheduler(s),
 * N executors), each from its own main.js, with its output prefixed by its name, and keeps it up:
 * a process that dies on its own is restarted with backoff (supervised-child.ts). Finds Redis or
 * starts a private one. Used by `npm start`, `npm run batch` and the benchmark.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { logsToTerminal, type Logger } from '../common/log.js';
import { redactUrl, redisAnswers } from '../common/redis.js';
import { parseRedisUrl } from '../common/redis-url.js';
import { DEFAULT_EXECUTOR_PORTS } from '../common/defaults.js';
import { freePort, portIsFree } from './free-port.js';
import { stackMetricsPorts } from './metrics-ports.js';
import { portSlices } from './port-slices.js';
import { redisServerOnPath, startPrivateRedis, type PrivateRedis } from './private-redis.js';
import { DEFAULT_RESTART_POLICY, type RestartPolicy } from './restart-policy.js';
import { StackError } from './stack-error.js';
import { SupervisedChild } from './supervised-child.js';

export { StackError };

type Role = 'fileserver' | 'scheduler' | 'executor' | 'dashboard';

export interface StackOptions {
  redisUrl: string;
  executors: number;
  /** Default 1; named `scheduler-N` when more than one. */
  schedulers?: number;
  /** 0 picks a free port. */
  port: number;
  host: string;
  uploadDir: string;
  imagesDir: string;
  queueName: string;
  /** undefined = a random token shared by the stack's processes. */
  uploadToken?: string | undefined;
  /** Per executor; undefined = the machine's CPUs split across the executors. */
  executorCpus?: number | undefined;
  /** One range split among the executors (default 31000-32000), or none. */
  executorPorts?: string;
  /** Executors are named `${prefix}-N`; default `executor`. */
  executorIdPrefix?: string;
  /** Extra environment for every child (e.g. TASK_CPUS); the caller's environment is inherited too. */
  env?: Record<string, string>;
  /** Where children's prefixed output goes; defaults to stderr. */
  output?: (line: string) => void;
  /** When a process that died is restarted; default DEFAULT_RESTART_POLICY. */
  restartPolicy?: Readonly<RestartPolicy>;
  /** Also run the dashboard (dashboard/main.ts); `portChosen` false = another port if this one is taken. */
  dashboard?: { port: number; host: string; portChosen: boolean };
  /**
   * Each process's METRICS_PORT: from a base port (stack/metrics-ports.ts), a free port each
   * ('free', the default), or 'off'. A restarted process keeps its port.
   */
  metricsPort?: number | 'free' | 'off';
}

/** A process that kept dying and is no longer restarted. */
export interface StackFailure {
  process: string;
  reason: string;
}

export interface RunningStack {
  redisUrl: string;
  fileserverUrl: string;
  imagesBaseUrl: string;
  uploadToken: string;
  /** Set when the stack runs a dashboard. */
  dashboardUrl?: string;
  /** Where each process serves /metrics (none with metricsPort 'off'). */
  metrics: { process: string; url: string }[];
  /** Resolves when a process kept dying and the launcher gave up restarting it; the rest run on until stop(). */
  gaveUp: Promise<StackFailure>;
  /** Stops every process in order (executors, schedulers, fileserver), cancelling pending restarts. Idempotent. */
  stop(): Promise<void>;
}

const mainOf = (proc: string) => fileURLToPath(new URL(`../${proc}/main.js`, import.meta.url));

async function resolveRedis(url: string, log: Logger): Promise<{ url: string; privateRedis?: PrivateRedis }> {
  if (await redisAnswers(url, 3000)) return { url };
  // A private server in place of a Sentinel or Cluster the user named would hide their outage.
  if (parseRedisUrl(url).topology !== 'standalone') throw new StackError(`No Redis answers at ${redactUrl(url)}: are its sentinels or cluster nodes up and reachable?`);
  if (!redisServerOnPath()) {
    throw new StackError(
      `No Redis answers at ${redactUrl(url)}, and redis-server is not installed to start a private one.\n` +
        `Get Redis with one of:\n` +
        `  - apt-get install redis-server   (then run this again: a private instance is started for you)\n` +
        `  - docker run -d -p 6379:6379 redis:7 --maxmemory-policy noeviction\n` +
        `  - set REDIS_URL=redis://host:port to use an existing server`,
    );
  }
  const privateRedis = await startPrivateRedis();
  log.info('no Redis answered; started a private redis-server (stopped on exit)', { tried: redactUrl(url), url: privateRedis.url });
  return { url: privateRedis.url, privateRedis };
}

export async function launchStack(opts: StackOptions, log: Logger): Promise<RunningStack> {
  const { url: redisUrl, privateRedis } = await resolveRedis(opts.redisUrl, log);
  const port = opts.port === 0 ? await freePort() : opts.port;
  const connectHost = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  const fileserverUrl = `http://${connectHost}:${port}`;
  const uploadToken = opts.uploadToken ?? randomBytes(18).toString('base64url');
  const executorCpus = String(opts.executorCpus ?? Math.max(0.5, availableParallelism() / opts.executors));
  const prefix = opts.executorIdPrefix ?? 'executor';
  const output = opts.output ?? ((line: string) => process.stderr.write(line + '\n'));
  const baseEnv: Record<string, string> = {
    ...(process.env as Record<string, string>),
    ...opts.env,
    REDIS_URL: redisUrl,
    QUEUE_NAME: opts.queueName,
    FILESERVER_URL: fileserverUrl,
    UPLOAD_TOKEN: uploadToken,
  };

  const children: { role: Role; child: SupervisedChild }[] = [];
  let dashboardUrl: string | undefined;
  // If the launcher dies without stop() (an uncaught error), its detached children go with it.
  process.once('exit', () => children.forEach(({ child }) => child.killNow()));
  let reportGiveUp: (failure: StackFailure) => void = () => undefined;
  const gaveUp = new Promise<StackFailure>((resolve) => (reportGiveUp = resolve));

  const startChild = (role: Role, name: string, env: Record<string, string>): SupervisedChild => {
    const child = new SupervisedChild(
      { name, script: mainOf(role), env: { ...baseEnv, ...env } },
      { log, output, pretty: opts.output === undefined && logsToTerminal(), policy: opts.restartPolicy ?? DEFAULT_RESTART_POLICY, onGiveUp: (reason) => reportGiveUp({ process: name, reason }) },
    );
    children.push({ role, child });
    return child;
  };

  const stopRole = (role: Role, timeoutMs: number) =>
    Promise.all(children.filter((c) => c.role === role).map(({ child }) => child.stop(timeoutMs)));

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      // Executors first: they finish their tasks, which still need the scheduler (acknowledgements)
      // and the fileserver (uploads); then the scheduler; the fileserver last.
      await stopRole('dashboard', 10_000);
      await stopRole('executor', 60_000);
      await stopRole('scheduler', 30_000);
      await stopRole('fileserver', 10_000);
      await privateRedis?.stop();
    })());

  const schedulers = schedulerNames(opts.schedulers ?? 1);
  const executorNames = Array.from({ length: opts.executors }, (_, i) => `executor-${i + 1}`);
  const metricsPorts = await metricsPortsFor(opts.metricsPort ?? 'free', schedulers, executorNames);
  const metricsHost = baseEnv.METRICS_HOST?.trim() || '127.0.0.1';
  const metricsConnectHost = metricsHost === '0.0.0.0' || metricsHost === '::' ? '127.0.0.1' : metricsHost.includes(':') ? `[${metricsHost}]` : metricsHost;
  const metrics = [...metricsPorts].map(([name, p]) => ({ process: name, url: `http://${metricsConnectHost}:${p}/metrics` }));
  const metricsEnv = (name: string) => ({ METRICS_PORT: metricsPorts.size === 0 ? 'off' : String(metricsPorts.get(name)) });

  try {
    const fileserver = startChild('fileserver', 'fileserver', {
      ...metricsEnv('fileserver'),
      PORT: String(port),
      HOST: opts.host,
      UPLOAD_DIR: opts.uploadDir,
      IMAGES_DIR: opts.imagesDir,
    });
    await withTimeout(fileserver.ready, 30_000, 'the fileserver did not start within 30 s');
    await waitForHealth(fileserverUrl);
    for (const name of schedulers) startChild('scheduler', name, metricsEnv(name));
    // Only split here: each executor checks its slice itself, privileged-ports flag included.
    const ports = portSlices(opts.executorPorts ?? DEFAULT_EXECUTOR_PORTS, opts.executors, true);
    for (let i = 1; i <= opts.executors; i++) {
      startChild('executor', `executor-${i}`, { ...metricsEnv(`executor-${i}`), EXECUTOR_ID: `${prefix}-${i}`, EXECUTOR_CPUS: executorCpus, EXECUTOR_PORTS: ports[i - 1]! });
    }
    if (opts.dashboard) {
      const d = opts.dashboard;
      const dashboardPort = d.portChosen || (await portIsFree(d.port)) ? d.port : await freePort();
      startChild('dashboard', 'dashboard', { DASHBOARD_PORT: String(dashboardPort), DASHBOARD_HOST: d.host, UPLOAD_DIR: opts.uploadDir });
      const host = d.host === '0.0.0.0' || d.host === '::' ? '127.0.0.1' : d.host.includes(':') ? `[${d.host}]` : d.host;
      dashboardUrl = `http://${host}:${dashboardPort}/`;
    }
    await withTimeout(Promise.all(children.map(({ child }) => child.ready)), 30_000, 'the pipeline processes did not all start within 30 s');
  } catch (err) {
    await stop();
    throw err;
  }
  return { redisUrl, fileserverUrl, imagesBaseUrl: `${fileserverUrl}/images/`, uploadToken, metrics, ...(dashboardUrl ? { dashboardUrl } : {}), gaveUp, stop };
}

/** Process name -> its metrics port; empty when off. */
async function metricsPortsFor(setting: number | 'free' | 'off', schedulers: string[], executors: string[]): Promise<Map<string, number>> {
  if (setting === 'off') return new Map();
  if (setting !== 'free') return stackMetricsPorts(setting, schedulers, executors);
  const ports = new Map<string, number>();
  const taken = new Set<number>();
  for (const name of [...schedulers, 'fileserver', ...executors]) {
    let port = await freePort();
    while (taken.has(port)) port = await freePort();
    taken.add(port);
    ports.set(name, port);
  }
  return ports;
}

/** `scheduler` alone; `scheduler-1`..`scheduler-N` when there are several. */
export function schedulerNames(count: number): string[] {
  return count === 1 ? ['scheduler'] : Array.from({ length: count }, (_, i) => `scheduler-${i + 1}`);
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new StackError(message)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The fileserver said it listens; this checks it answers at the address the others will use. */
async function waitForHealth(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new StackError(`the fileserver did not answer ${url}/healthz within 10 s`);
}
