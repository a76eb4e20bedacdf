/**
 * A real stack for fault injection: a private redis-server (append-only file), the image source
 * (in this process, counting fetches), the fileserver, schedulers and executors each as its own
 * process started from dist/, so any of them can be killed -9, stopped, paused or restarted.
 * Executors can run in a network namespace whose link the suite cuts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { enqueueUrls } from '../../client/enqueue-urls.js';
import { keysFor } from '../../common/keys.js';
import { DEFAULT_JOB_POLICY, type ImageJobData, type ImageJobResult } from '../../common/queue.js';
import { redisAnswers } from '../../common/redis.js';
import { parseLease, type LeaseHolder } from '../../common/lease-holder.js';
import { freePort } from '../../stack/free-port.js';
import type { NetNs } from './netns.js';
import { startSourceServer, type SourceServer } from './source-server.js';

export type Role = 'scheduler' | 'executor' | 'fileserver';

interface Proc {
  name: string;
  role: Role;
  child: ChildProcess;
  exited: Promise<void>;
  lines: string[];
}

/** Settings that make the suite's faults play out in seconds rather than minutes. */
const SCHEDULER_ENV = {
  EXECUTOR_TIMEOUT_MS: '4000',
  LEASE_TTL_MS: '2000',
  LOCK_DURATION_MS: '15000',
  RECONCILE_TIMEOUT_MS: '3000',
  REFUSE_SECONDS: '1',
  STALLED_INTERVAL_MS: '2000',
  HOST_OPEN_MS: '500',
  HOST_OPEN_MAX_MS: '4000',
};
const EXECUTOR_ENV = {
  EXECUTOR_CPUS: '2',
  EXECUTOR_MEM_MB: '2048',
  HEARTBEAT_MS: '500',
  ACK_RESEND_MS: '1000',
  ALLOW_PRIVATE_NETWORKS: 'true',
  DOWNLOAD_CONNECT_TIMEOUT_MS: '2000',
  UPLOAD_TIMEOUT_MS: '5000',
  UPLOAD_RETRIES: '1',
  SHUTDOWN_ACK_WAIT_MS: '3000',
};
export const JOB_POLICY = { ...DEFAULT_JOB_POLICY, attempts: 8, backoffMs: 500 };

const mainOf = (role: Role) => fileURLToPath(new URL(`../../${role}/main.js`, import.meta.url));
const TOKEN = 'fault-suite-token';

export class FaultStack {
  readonly procs = new Map<string, Proc>();
  readonly queueName = `faults-${Math.random().toString(36).slice(2, 8)}`;
  readonly keys = keysFor(this.queueName);
  private redisChild: ChildProcess | undefined;
  redis!: Redis;
  queue!: Queue<ImageJobData, ImageJobResult>;
  source!: SourceServer;
  fsPort = 0;
  redisPort = 0;
  uploadDir = '';
  private redisDir = '';

  /** `host`: the address every process reaches Redis, the source and the fileserver at. */
  constructor(
    readonly images: Map<string, Buffer>,
    readonly host = '127.0.0.1',
    readonly netns?: NetNs,
    readonly sourceDelayMs = 60,
  ) {}

  get redisUrl(): string {
    return `redis://${this.host}:${this.redisPort}`;
  }

  async start(): Promise<void> {
    this.redisDir = await mkdtemp(join(tmpdir(), 'faults-redis-'));
    this.uploadDir = await mkdtemp(join(tmpdir(), 'faults-uploads-'));
    this.redisPort = await freePort();
    this.fsPort = await freePort();
    await this.startRedis();
    this.redis = new Redis(this.redisUrl, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
    this.redis.on('error', () => undefined);
    this.queue = new Queue(this.queueName, { connection: this.redis });
    this.queue.on('error', () => undefined);
    this.source = await startSourceServer(this.images, { host: this.host, delayMs: this.sourceDelayMs });
  }

  async startRedis(): Promise<void> {
    const binds = this.host === '127.0.0.1' ? ['127.0.0.1'] : ['127.0.0.1', this.host];
    this.redisChild = spawn(
      'redis-server',
      ['--port', String(this.redisPort), '--bind', ...binds, '--dir', this.redisDir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--maxmemory-policy', 'noeviction', '--protected-mode', 'no'],
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 200 && !(await redisAnswers(`redis://127.0.0.1:${this.redisPort}`, 200)); i++) await sleep(25);
  }

  async killRedis(): Promise<void> {
    const child = this.redisChild;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  private spawn(name: string, role: Role, env: Record<string, string>, inNetns = false): Proc {
    const fullEnv = {
      ...(process.env as Record<string, string>),
      REDIS_URL: this.redisUrl,
      QUEUE_NAME: this.queueName,
      FILESERVER_URL: `http://${this.host}:${this.fsPort}`,
      UPLOAD_TOKEN: TOKEN,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info',
      // Several schedulers and executors on one machine: each its own free metrics port.
      METRICS_PORT: '0',
      ...env,
    };
    const command = inNetns && this.netns ? 'ip' : process.execPath;
    const args = inNetns && this.netns ? ['netns', 'exec', this.netns.name, process.execPath, mainOf(role)] : [mainOf(role)];
    const child = spawn(command, args, { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const proc: Proc = { name, role, child, lines: [], exited: new Promise((r) => child.once('exit', () => r())) };
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => proc.lines.push(line));
    }
    this.procs.set(name, proc);
    return proc;
  }

  startFileserver(): Proc {
    return this.spawn('fileserver', 'fileserver', { PORT: String(this.fsPort), HOST: this.host === '127.0.0.1' ? '127.0.0.1' : '0.0.0.0', UPLOAD_DIR: this.uploadDir, IMAGES_DIR: this.uploadDir });
  }

  startScheduler(name: string, env: Record<string, string> = {}): Proc {
    return this.spawn(name, 'scheduler', { ...SCHEDULER_ENV, SCHEDULER_ID: name, ...env });
  }

  /** Each executor offers its own 50 ports, so executors of this machine never share one. */
  private readonly portBase = 20_000 + Math.floor(Math.random() * 400) * 100;
  private readonly portSlice = new Map<string, string>();

  startExecutor(name: string, opts: { inNetns?: boolean; env?: Record<string, string> } = {}): Proc {
    if (!this.portSlice.has(name)) {
      const begin = this.portBase + this.portSlice.size * 50;
      this.portSlice.set(name, `${begin}-${begin + 49}`);
    }
    const host = opts.inNetns && this.netns ? this.netns.nsIp : this.host;
    return this.spawn(name, 'executor', { ...EXECUTOR_ENV, EXECUTOR_ID: name, EXECUTOR_PORTS: this.portSlice.get(name)!, EXECUTOR_ADVERTISE_HOST: host, ...opts.env }, opts.inNetns);
  }

  /** Runs one of the CLIs (dist/cli/NAME.js) against this stack; resolves with its exit code and output. */
  cli(name: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [fileURLToPath(new URL(`../../cli/${name}.js`, import.meta.url)), ...args], {
        env: { ...(process.env as Record<string, string>), REDIS_URL: this.redisUrl, QUEUE_NAME: this.queueName },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  }

  signal(name: string, signal: NodeJS.Signals): void {
    this.procs.get(name)?.child.kill(signal);
  }

  async kill(name: string): Promise<void> {
    const proc = this.procs.get(name);
    if (!proc || proc.child.exitCode !== null) return;
    proc.child.kill('SIGKILL');
    await proc.exited;
  }

  /** SIGTERM, then waits for the process to leave. */
  async stop(name: string): Promise<void> {
    const proc = this.procs.get(name);
    if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
    proc.child.kill('SIGTERM');
    const timer = setTimeout(() => proc.child.kill('SIGKILL'), 30_000);
    await proc.exited;
    clearTimeout(timer);
  }

  names(role: Role): string[] {
    return [...this.procs.values()].filter((p) => p.role === role && p.child.exitCode === null && p.child.signalCode === null).map((p) => p.name);
  }

  /** Waits until the fileserver answers and a scheduler leads. */
  async ready(): Promise<void> {
    await until('the fileserver', async () => (await fetch(`http://${this.host}:${this.fsPort}/healthz`).then((r) => r.ok, () => false)) || undefined, 20_000);
    await until('a leader', () => this.leader(), 20_000);
  }

  async leader(): Promise<LeaseHolder | undefined> {
    return parseLease(await this.redis.get(this.keys.leader));
  }

  sourceUrl(name: string): string {
    return `http://${this.host}:${this.source.port}/${name}`;
  }

  async enqueueAll(): Promise<string[]> {
    const jobs = await enqueueUrls(this.queue, [...this.images.keys()].map((n) => ({ url: this.sourceUrl(n) })), JOB_POLICY);
    return jobs.map((j) => String(j.id));
  }

  async counts(): Promise<{ completed: number; failed: number; active: number; waiting: number; delayed: number }> {
    const c = await this.queue.getJobCounts('completed', 'failed', 'active', 'wait', 'delayed', 'prioritized');
    return { completed: c.completed ?? 0, failed: c.failed ?? 0, active: c.active ?? 0, waiting: (c.wait ?? 0) + (c.prioritized ?? 0), delayed: c.delayed ?? 0 };
  }

  async activeJobIds(): Promise<string[]> {
    return this.redis.lrange(`bull:${this.queueName}:active`, 0, -1);
  }

  /** Uploads the fileserver stored, by output name (from its logs, across restarts). */
  uploadsByName(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const proc of this.procs.values()) {
      if (proc.role !== 'fileserver') continue;
      for (const line of proc.lines) {
        if (!line.includes('upload stored')) continue;
        const name = /"name":"([^"]+)"/.exec(line)?.[1] ?? /\bname=(\S+)/.exec(line)?.[1];
        if (name) counts.set(name, (counts.get(name) ?? 0) + 1);
      }
    }
    return counts;
  }

  /** TEST_LOG_DIR=dir keeps every process's whole output, one file per process, for a run to read afterwards. */
  private async keepLogs(): Promise<void> {
    const root = process.env.TEST_LOG_DIR;
    if (!root) return;
    const dir = join(root, `${new Date().toISOString().replace(/[:.]/g, '-')}-${this.queueName}`);
    await mkdir(dir, { recursive: true });
    await Promise.all([...this.procs.values()].map((p) => writeFile(join(dir, `${p.name}.log`), p.lines.join('\n') + '\n')));
  }

  /** The last lines of every process, for a failing scenario's message. */
  tail(lines = 15): string {
    return [...this.procs.values()].map((p) => `--- ${p.name}\n${p.lines.slice(-lines).join('\n')}`).join('\n');
  }

  async teardown(): Promise<void> {
    await Promise.all([...this.procs.values()].map(async (p) => {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await p.exited;
    }));
    await this.keepLogs();
    await this.queue?.close().catch(() => undefined);
    this.redis?.disconnect();
    await this.source?.close();
    await this.killRedis();
    await rm(this.redisDir, { recursive: true, force: true });
    await rm(this.uploadDir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await Promise.resolve(probe()).catch(() => undefined);
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
