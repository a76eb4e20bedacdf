/**
 * One pipeline process under the launcher: spawned from its main.js with its output prefixed by
 * its name, and restarted with the same environment, after a backoff (restart-policy.ts), when it
 * dies on its own once it has reported ready. Dying before its first ready fails start-up instead:
 * a bad setting or a taken port does not get better by retrying.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { prettyLine, type Logger } from '../common/log.js';
import { nextRestart, type Death, type RestartPolicy } from './restart-policy.js';
import { StackError } from './stack-error.js';

export interface ChildSpec {
  /** Prefix of its output lines and `process=` in the launcher's log. */
  name: string;
  /** The main.js to run with this node. */
  script: string;
  /** Its whole environment, the same on every restart (an executor comes back under its id). */
  env: Record<string, string>;
}

export interface SupervisionOptions {
  log: Logger;
  output: (line: string) => void;
  /** Children log JSON lines (their stderr is a pipe): made readable when the output is a terminal. */
  pretty?: boolean;
  policy: Readonly<RestartPolicy>;
  /** Called once, when the child kept dying and is left dead. */
  onGiveUp: (reason: string) => void;
}

const PREFIX_WIDTH = 12;
// More deaths than any sensible policy looks at (its window, the doubling up to its cap); bounds
// memory for a child that dies every few minutes for days.
const HISTORY_LIMIT = 64;

const alive = (proc: ChildProcess) => proc.exitCode === null && proc.signalCode === null;

export class SupervisedChild {
  /** Resolves when the first process reports it is up (common/shutdown.ts notifyReady); rejects if it dies before. */
  readonly ready: Promise<void>;
  private proc!: ChildProcess;
  private closed!: Promise<void>;
  private startedAtMs = 0;
  private supervising = false;
  private stopping = false;
  private restarts = 0;
  private deaths: Death[] = [];
  private restartTimer: NodeJS.Timeout | undefined;
  private resolveReady!: () => void;
  private rejectReady!: (err: Error) => void;

  constructor(
    readonly spec: ChildSpec,
    private readonly opts: SupervisionOptions,
  ) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => undefined);
    this.spawnProcess();
    opts.log.info('process started', { process: spec.name, pid: this.proc.pid });
  }

  /** Cancels a pending restart, sends SIGTERM, SIGKILL after `timeoutMs`; resolves once no process is left. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const proc = this.proc;
    if (alive(proc)) proc.kill('SIGTERM');
    const timer = setTimeout(() => alive(proc) && proc.kill('SIGKILL'), timeoutMs);
    await this.closed;
    clearTimeout(timer);
  }

  /** Last resort when the launcher itself exits without stop(): no child is left behind. */
  killNow(): void {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    if (alive(this.proc)) this.proc.kill('SIGTERM');
  }

  private spawnProcess(): void {
    // Own process group: Ctrl-C in the terminal reaches only the launcher, which then stops the
    // children in order (executors drain while the scheduler and fileserver still serve them).
    const proc = spawn(process.execPath, [this.spec.script], { env: this.spec.env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], detached: true });
    this.proc = proc;
    this.startedAtMs = Date.now();
    for (const stream of [proc.stdout, proc.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) =>
          this.opts.output(`${this.spec.name.padEnd(PREFIX_WIDTH)}| ${this.opts.pretty === true ? prettyLine(line) : line}`),
        );
    }
    // A failed spawn (EAGAIN, ENOMEM) is followed by 'close', which handles it as a death;
    // without a listener the error would crash the launcher.
    proc.on('error', (err) => this.opts.log.error('process error', { process: this.spec.name, pid: proc.pid, error: err.message }));
    proc.once('message', () => {
      this.supervising = true;
      this.resolveReady();
    });
    // 'close' rather than 'exit': the last lines of its output are through before anyone moves on.
    this.closed = new Promise((resolve) =>
      proc.once('close', (code, signal) => {
        this.onClose(proc, code, signal);
        resolve();
      }),
    );
  }

  private onClose(proc: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping) return;
    const { log, policy } = this.opts;
    const exit = { process: this.spec.name, pid: proc.pid, code: code ?? undefined, signal: signal ?? undefined };
    if (!this.supervising) {
      log.error('process exited during start-up', exit);
      this.rejectReady(new StackError(`${this.spec.name} exited during start-up (${describeExit(code, signal)}); see its output above`));
      return;
    }
    const now = Date.now();
    const death = { atMs: now, upMs: now - this.startedAtMs };
    const decision = nextRestart(this.deaths, death, policy);
    this.deaths = [...this.deaths, death].slice(-HISTORY_LIMIT);
    if (!decision.restart) {
      const reason = `${decision.reason}, last ${describeExit(code, signal)}`;
      log.error('process keeps dying; not restarting it', { ...exit, reason });
      this.opts.onGiveUp(reason);
      return;
    }
    log.warn('process exited unexpectedly; restarting it', { ...exit, upMs: death.upMs, delayMs: decision.delayMs });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.restarts++;
      this.spawnProcess();
      log.info('process restarted', { process: this.spec.name, pid: this.proc.pid, restarts: this.restarts });
    }, decision.delayMs);
  }
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exit code ${code}`;
}
