/**
 * No unhandled rejection: a timer's failed send is logged and the executor goes on; a process
 * with guardProcess() keeps serving through a stray rejection or a Redis reply error.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { createLogger } from '../common/log.js';
import { Executor } from '../executor/executor.js';
import type { BatchTaskDeps } from '../executor/image-task.js';
import type { ExecutorEvent, ReceivedCall, SchedulerCall } from '../protocol/types.js';

const noWork: BatchTaskDeps = {
  download: async () => Buffer.from(''),
  invert: async (data) => ({ data, format: 'png', width: 1, height: 1 }),
  upload: async (name) => ({ name, url: name, bytes: 0 }),
  uploadMany: async () => [],
  now: Date.now,
};

describe('timer and event callbacks', () => {
  it('an offer from the refuse timer that Redis refuses is logged, not an unhandled rejection', async (t) => {
    const unhandled: unknown[] = [];
    const onRejection = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onRejection);
    t.after(() => process.off('unhandledRejection', onRejection));
    const logged: string[] = [];
    const events: ExecutorEvent[] = [];
    let refuse = false;
    const executor = new Executor(
      {
        emit: async (e) => {
          if (refuse) throw Object.assign(new Error('NOPERM this user has no permissions to run the \'xadd\' command'), { name: 'ReplyError' });
          events.push(e);
        },
        markAlive: async () => undefined,
        inboxStalledMs: () => 0,
        inboxPosition: () => '',
        leaseHolder: async () => undefined,
      },
      noWork,
      {
        executorId: 'e1',
        hostname: 'h',
        advertiseHost: '127.0.0.1',
        resources: { cpus: 1, memMb: 100, ports: [] },
        heartbeatMs: 60_000,
        offerTtlMs: 60_000,
        ackResendMs: 60_000,
        stageUpdateMs: 0,
        shutdownAckWaitMs: 0,
        services: { healthIntervalMs: 1000, startTimeoutMs: 5000, healthFailures: 3 },
      },
      createLogger({}, 'warn', (line) => logged.push(line)),
    );
    t.after(() => executor.drain());
    await executor.start();
    const offer = events.find((e) => e.kind === 'offer');
    assert.ok(offer?.kind === 'offer');
    const call = (c: SchedulerCall): ReceivedCall => ({ envelope: { epoch: 1, schedulerId: 's', sentAtMs: 0, version: { major: 2, minor: 0 } }, call: c });
    await executor.handleCall(call({ kind: 'decline', offerId: offer.offer.id, refuseSeconds: 0.05 }));
    refuse = true;
    // The refuse timer fires after 55 ms and its offer is refused; wait until that is logged.
    for (let i = 0; i < 100 && !logged.some((l) => l.includes('offer after the refuse period failed')); i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(unhandled, []);
    assert.ok(logged.some((l) => l.includes('offer after the refuse period failed') && l.includes('NOPERM')), logged.join('\n'));
  });
});

describe('guardProcess', () => {
  const script = (guarded: boolean) => `
    import { guardProcess } from ${JSON.stringify(new URL('../common/background.js', import.meta.url).href)};
    import { createLogger } from ${JSON.stringify(new URL('../common/log.js', import.meta.url).href)};
    const log = createLogger({}, 'info', (line) => process.stderr.write(line + '\\n'));
    if (${guarded}) guardProcess(log);
    Promise.reject(new Error('stray rejection'));
    setTimeout(() => { throw Object.assign(new Error('WRONGTYPE Operation against a key'), { name: 'ReplyError' }); }, 10);
    setTimeout(() => { process.stdout.write('still serving'); }, 100);
  `;
  const run = (guarded: boolean) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, ['--input-type=module', '-e', script(guarded)], { cwd: fileURLToPath(new URL('.', import.meta.url)) }, (_err, stdout, stderr) =>
        resolve({ code: child.exitCode, stdout, stderr }),
      );
    });

  it('logs a stray rejection and a Redis reply error, and keeps the process serving', async () => {
    const guarded = await run(true);
    assert.equal(guarded.code, 0, guarded.stderr);
    assert.equal(guarded.stdout, 'still serving');
    assert.match(guarded.stderr, /stray rejection.*unhandled rejection \(kept serving\)/);
    assert.match(guarded.stderr, /WRONGTYPE.*uncaught Redis error \(kept serving\)/);
  });

  it('(without it, Node ends the process: the case the guard is for)', async () => {
    const bare = await run(false);
    assert.notEqual(bare.code, 0);
    assert.equal(bare.stdout, '');
  });
});
