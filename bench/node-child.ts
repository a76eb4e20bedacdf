/**
 * Node child processes for the reference runs: the real fileserver, the worker pool and the
 * transport floor each run in their own process, so their CPU time is their own and the
 * benchmark harness does not compete with them inside one event loop.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from '../stack/free-port.js';

export interface NodeChild {
  name: string;
  pid: number;
  /** The next IPC message; rejects if the child exits first. */
  next(): Promise<unknown>;
  send(message: unknown): void;
  /** Resolves with the exit code (or signal name) when the child exits, for whatever reason. */
  exited: Promise<string>;
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves once the child is gone. */
  stop(timeoutMs?: number): Promise<void>;
}

/** A compiled script beside this file or elsewhere in dist, e.g. `../fileserver/main.js`. */
export const distScript = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

export function startNodeChild(name: string, script: string, env: Record<string, string>): NodeChild {
  const proc = spawn(process.execPath, [script], {
    env: { ...(process.env as Record<string, string>), ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  if (proc.pid === undefined) throw new Error(`could not start ${name} (${script})`);
  // If the harness dies without stopping it (an uncaught error), the child goes too.
  const killOnExit = () => proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL');
  process.once('exit', killOnExit);
  for (const stream of [proc.stdout, proc.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', (line) => process.stderr.write(`${name.padEnd(12)}| ${line}\n`));
  }

  const inbox: unknown[] = [];
  const waiting: Array<{ resolve: (m: unknown) => void; reject: (e: Error) => void }> = [];
  let gone: Error | undefined;
  proc.on('message', (message) => {
    const waiter = waiting.shift();
    if (waiter) waiter.resolve(message);
    else inbox.push(message);
  });
  const exited = new Promise<string>((resolve) =>
    proc.once('exit', (code, signal) => {
      process.removeListener('exit', killOnExit);
      const how = signal ?? `code ${code}`;
      gone = new Error(`${name} exited (${how})`);
      for (const w of waiting.splice(0)) w.reject(gone);
      resolve(how);
    }),
  );

  return {
    name,
    pid: proc.pid,
    exited,
    next: () => {
      if (inbox.length > 0) return Promise.resolve(inbox.shift());
      if (gone) return Promise.reject(gone);
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    send: (message) => {
      proc.send(message as object);
    },
    stop: async (timeoutMs = 10_000) => {
      if (gone) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface FileserverProcess {
  child: NodeChild;
  url: string;
  imagesBaseUrl: string;
  uploadUrl: string;
  uploadToken: string;
  stop(): Promise<void>;
}

/**
 * The real fileserver (dist/fileserver/main.js) on a free port, serving `imagesDir` and
 * receiving uploads into a fresh temp directory that stop() removes: the same process the
 * pipeline run gets from launchStack.
 */
export async function startFileserver(imagesDir: string, env: Record<string, string>): Promise<FileserverProcess> {
  const uploadDir = await mkdtemp(join(tmpdir(), 'bench-uploads-'));
  const port = await freePort();
  const uploadToken = randomBytes(18).toString('base64url');
  const child = startNodeChild('fileserver', distScript('../fileserver/main.js'), {
    ...env,
    PORT: String(port),
    HOST: '127.0.0.1',
    UPLOAD_DIR: uploadDir,
    IMAGES_DIR: imagesDir,
    UPLOAD_TOKEN: uploadToken,
    METRICS_PORT: '0',
  });
  const stop = async () => {
    await child.stop();
    await rm(uploadDir, { recursive: true, force: true });
  };
  try {
    await child.next(); // notifyReady: listening
  } catch (err) {
    await stop();
    throw err;
  }
  const url = `http://127.0.0.1:${port}`;
  return { child, url, imagesBaseUrl: `${url}/images/`, uploadUrl: `${url}/upload`, uploadToken, stop };
}
