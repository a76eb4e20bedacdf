/**
 * One service instance on this executor: a child process (executor/service-main.ts) listening
 * on the port the launch took from the offer, bound to the advertised address. It is RUNNING
 * only once it listens and its health check answers; it is health-checked while it runs (Mesos:
 * `healthy` on TaskStatus), killed after repeated failures, and a kill closes the server and
 * frees the port. Every path ends in exactly one terminal outcome.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inBackground } from '../common/background.js';
import type { ErrorCode } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { ServiceSpec, TaskState } from '../protocol/types.js';

export interface ServiceOptions {
  advertiseHost: string;
  healthIntervalMs: number;
  /** From launch until the first healthy check. */
  startTimeoutMs: number;
  /** Consecutive failed checks that get a running instance killed. */
  healthFailures: number;
}

export interface InstanceStatus {
  state: TaskState;
  healthy: boolean;
  reason?: ErrorCode;
  message: string;
}

const MAIN = fileURLToPath(new URL('./service-main.js', import.meta.url));
const STOP_TIMEOUT_MS = 5_000;

export class ServiceInstance {
  private child: ChildProcess | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private ended = false;
  private stopping: { state: TaskState; reason: ErrorCode; message: string } | undefined;
  status: InstanceStatus = { state: 'TASK_STARTING', healthy: false, message: '' };

  constructor(
    readonly taskId: string,
    readonly spec: ServiceSpec,
    private readonly opts: ServiceOptions,
    private readonly log: Logger,
    /** Called on every change; exactly once with a terminal state. */
    private readonly onStatus: (status: InstanceStatus) => void,
  ) {}

  get url(): string {
    const host = this.opts.advertiseHost.includes(':') ? `[${this.opts.advertiseHost}]` : this.opts.advertiseHost;
    return `http://${host}:${this.spec.port}`;
  }

  start(): void {
    const child = fork(MAIN, [`--service=${this.spec.name}/${this.spec.instance}`, `--port=${this.spec.port}`], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.child = child;
    child.on('message', (m: { listening?: boolean; error?: string; message?: string }) => {
      if (m.listening) inBackground(this.log, 'service health wait', () => this.awaitHealthy());
      else if (m.error === 'EADDRINUSE') this.end('TASK_FAILED', 'SERVICE_PORT_IN_USE', `port ${this.spec.port} on ${this.opts.advertiseHost} is taken by another process`);
      else this.end('TASK_FAILED', 'INTERNAL', `the instance could not listen: ${m.error}: ${m.message}`);
    });
    child.on('exit', (code, signal) => {
      if (this.stopping) this.end(this.stopping.state, this.stopping.reason, this.stopping.message);
      else this.end('TASK_FAILED', 'SERVICE_UNHEALTHY', `the instance process exited (${signal ?? `code ${code}`})`);
    });
    child.on('error', (err) => this.end('TASK_FAILED', 'INTERNAL', `could not start the instance: ${err.message}`));
    child.send({ host: this.opts.advertiseHost, port: this.spec.port, body: this.spec.body.toString('base64'), contentType: this.spec.contentType, healthPath: this.spec.healthPath });
  }

  private async check(): Promise<boolean> {
    try {
      const res = await fetch(`${this.url}${this.spec.healthPath}`, { signal: AbortSignal.timeout(Math.min(2000, this.opts.healthIntervalMs)) });
      await res.arrayBuffer();
      return res.ok;
    } catch {
      return false;
    }
  }

  private async awaitHealthy(): Promise<void> {
    const deadline = Date.now() + this.opts.startTimeoutMs;
    while (!this.ended && !this.stopping) {
      if (await this.check()) {
        this.update({ state: 'TASK_RUNNING', healthy: true, message: `serving ${this.url}` });
        this.timer = setInterval(() => inBackground(this.log, 'service health check', () => this.watch()), this.opts.healthIntervalMs);
        return;
      }
      if (Date.now() > deadline) {
        await this.stop('SERVICE_UNHEALTHY', 'TASK_FAILED', `no healthy answer on ${this.spec.healthPath} within ${this.opts.startTimeoutMs} ms`);
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private async watch(): Promise<void> {
    if (this.ended || this.stopping) return;
    if (await this.check()) {
      if (this.failures > 0) this.update({ ...this.status, healthy: true, message: `serving ${this.url}` });
      this.failures = 0;
      return;
    }
    this.failures++;
    this.log.warn('service instance failed its health check', { service: this.spec.name, instance: this.spec.instance, failures: this.failures });
    if (this.failures < this.opts.healthFailures) {
      this.update({ ...this.status, healthy: false, message: `${this.failures} failed health check(s)` });
      return;
    }
    await this.stop('SERVICE_UNHEALTHY', 'TASK_FAILED', `${this.failures} health checks of ${this.spec.healthPath} failed in a row`);
  }

  /** Stops the instance and frees its port; resolves once the process is gone. */
  async stop(reason: ErrorCode, state: TaskState = 'TASK_KILLED', message = 'stopped'): Promise<void> {
    clearInterval(this.timer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.stopping ??= { state, reason, message };
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const hard = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await gone;
    clearTimeout(hard);
  }

  private update(status: InstanceStatus): void {
    if (this.ended) return;
    this.status = status;
    this.onStatus(status);
  }

  private end(state: TaskState, reason: ErrorCode, message: string): void {
    if (this.ended) return;
    this.update({ state, healthy: false, reason, message });
    this.ended = true;
    clearInterval(this.timer);
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
