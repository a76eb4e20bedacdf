/**
 * Brings up the whole pipeline on one machine as separate processes (fileserver, scheduler,
 * N executors), each from its own main.js, with its output prefixed by its name. Finds Redis
 * or starts a private one. Used by `npm start`, `npm run batch` and the benchmark.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { Logger } from '../common/log.js';
import { redisAnswers } from '../common/redis.js';
import { freePort } from './free-port.js';
import { redisServerOnPath, startPrivateRedis, type PrivateRedis } from './private-redis.js';

export class StackError extends Error {
  override readonly name = 'StackError';
}

export interface StackOptions {
  redisUrl: string;
  executors: number;
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
  /** Executors are named `${prefix}-N`; default `executor`. */
  executorIdPrefix?: string;
  /** Extra environment for every child (e.g. TASK_CPUS); the caller's environment is inherited too. */
  env?: Record<string, string>;
  /** Where children's prefixed output goes; defaults to stderr. */
  output?: (line: string) => void;
}

export interface RunningStack {
  redisUrl: string;
  fileserverUrl: string;
  imagesBaseUrl: string;
  uploadToken: string;
  /** Resolves when a child exits on its own (not via stop()). */
  unexpectedExit: Promise<string>;
  stop(): Promise<void>;
}

interface Child {
  name: string;
  proc: ChildProcess;
  exited: Promise<number | null>;
  /** Resolves when the child reports it is up (common/shutdown.ts notifyReady). */
  ready: Promise<void>;
}

const mainOf = (proc: string) => fileURLToPath(new URL(`../${proc}/main.js`, import.meta.url));

async function resolveRedis(url: string, log: Logger): Promise<{ url: string; privateRedis?: PrivateRedis }> {
  if (await redisAnswers(url)) return { url };
  if (!redisServerOnPath()) {
    throw new StackError(
      `No Redis answers at ${url}, and redis-server is not installed to start a private one.\n` +
        `Get Redis with one of:\n` +
        `  - apt-get install redis-server   (then run this again: a private instance is started for you)\n` +
        `  - docker run -d -p 6379:6379 redis:7 --maxmemory-policy noeviction\n` +
        `  - set REDIS_URL=redis://host:port to use an existing server`,
    );
  }
  const privateRedis = await startPrivateRedis();
  log.info('no Redis answered; started a private redis-server (stopped on exit)', { tried: url, url: privateRedis.url });
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

  const children: Child[] = [];
  let stopping = false;
  // If the launcher dies without stop() (an uncaught error), its detached children go with it.
  process.once('exit', () => children.forEach((c) => c.proc.exitCode === null && c.proc.kill('SIGTERM')));
  let reportExit: (name: string) => void = () => undefined;
  const unexpectedExit = new Promise<string>((resolve) => (reportExit = resolve));

  const startChild = (name: string, proc: string, env: Record<string, string>): Child => {
    // Own process group: Ctrl-C in the terminal reaches only this launcher, which then stops the
    // children in order (executors drain while the scheduler and fileserver still serve them).
    const child = spawn(process.execPath, [mainOf(proc)], {
      env: { ...baseEnv, ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: true,
    });
    const ready = new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new StackError(`${name} exited during start-up (code ${code}); see its output above`)));
    });
    ready.catch(() => undefined);
    const width = 12;
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => output(`${name.padEnd(width)}| ${line}`));
    }
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => {
        if (!stopping) {
          log.error('process exited unexpectedly', { process: name, code });
          reportExit(name);
        }
        resolve(code);
      }),
    );
    const entry = { name, proc: child, exited, ready };
    children.push(entry);
    return entry;
  };

  const stopChildren = async (list: Child[], timeoutMs: number) => {
    for (const c of list) if (c.proc.exitCode === null) c.proc.kill('SIGTERM');
    const timer = setTimeout(() => list.forEach((c) => c.proc.exitCode === null && c.proc.kill('SIGKILL')), timeoutMs);
    await Promise.all(list.map((c) => c.exited));
    clearTimeout(timer);
  };

  const stop = async () => {
    stopping = true;
    const named = (prefix: string) => children.filter((c) => c.name.startsWith(prefix));
    // Executors first: they finish their tasks, which still need the scheduler (acknowledgements)
    // and the fileserver (uploads); then the scheduler; the fileserver last.
    await stopChildren(named('executor'), 60_000);
    await stopChildren(named('scheduler'), 30_000);
    await stopChildren(named('fileserver'), 10_000);
    await privateRedis?.stop();
  };

  try {
    const fileserver = startChild('fileserver', 'fileserver', {
      PORT: String(port),
      HOST: opts.host,
      UPLOAD_DIR: opts.uploadDir,
      IMAGES_DIR: opts.imagesDir,
    });
    await waitForHealth(fileserverUrl, fileserver);
    startChild('scheduler', 'scheduler', {});
    for (let i = 1; i <= opts.executors; i++) {
      startChild(`executor-${i}`, 'executor', { EXECUTOR_ID: `${prefix}-${i}`, EXECUTOR_CPUS: executorCpus });
    }
    await withTimeout(Promise.all(children.map((c) => c.ready)), 30_000, 'the pipeline processes did not all start within 30 s');
  } catch (err) {
    await stop();
    throw err;
  }
  return { redisUrl, fileserverUrl, imagesBaseUrl: `${fileserverUrl}/images/`, uploadToken, unexpectedExit, stop };
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

async function waitForHealth(url: string, child: Child): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.proc.exitCode !== null) throw new StackError(`the fileserver exited (code ${child.proc.exitCode}); see its output above`);
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
