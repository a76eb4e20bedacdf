/**
 * `npm run status` against a real stack (separate processes, real Redis): while a batch runs and
 * after it, its JSON matches BullMQ's own counts and shows both executors, its text names the
 * jobs; a failure shows with its reason and attempt N/M; no leader gives the clear line;
 * --help, a bad flag, and --watch stopped by SIGTERM exit as documented.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import type { ClusterSnapshot } from '../client/cluster-snapshot.js';
import { redisServerOnPath } from '../stack/private-redis.js';
import { makeCorpus } from './faults/corpus.js';
import { FaultStack, until } from './faults/fault-stack.js';

const STATUS_JS = fileURLToPath(new URL('../cli/status.js', import.meta.url));

async function snapshot(stack: FaultStack, args: string[] = []): Promise<ClusterSnapshot> {
  const run = await stack.cli('status', ['--json', ...args]);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as ClusterSnapshot;
}

describe('status', { skip: !redisServerOnPath() && 'redis-server is not installed' }, () => {
  it('shows a running batch, then counts equal to the queue, the executors, the jobs and a failure with attempt N/M', { timeout: 120_000 }, async () => {
    const stack = new FaultStack(await makeCorpus(12), '127.0.0.1', undefined, 700);
    try {
      await stack.start();
      stack.startFileserver();
      stack.startScheduler('scheduler-1', process.env.TEST_LOG_LEVEL ? { LOG_LEVEL: process.env.TEST_LOG_LEVEL } : {});
      for (const name of ['executor-1', 'executor-2']) stack.startExecutor(name, { env: { EXECUTOR_CPUS: '1' } });
      await stack.ready();
      await until('two executors in the published state', async () => ((await snapshot(stack)).state?.executors.length === 2 ? true : undefined), 20_000, 200);
      const ids = await stack.enqueueAll();

      // While it runs: tasks with job ids and stages on the executors.
      const running = await until(
        'running tasks in status --json',
        async () => {
          const s = await snapshot(stack);
          const runs = s.state?.executors.flatMap((e) => e.tasks.flatMap((t) => t.runs)) ?? [];
          return runs.length > 0 ? { s, runs } : undefined;
        },
        30_000,
        100,
      );
      for (const r of running.runs) assert.ok(ids.includes(r.jobId), `running job ${r.jobId} is one of ours`);
      assert.equal(running.s.leader?.schedulerId, 'scheduler-1');
      const text = await stack.cli('status', []);
      assert.equal(text.code, 0, text.stderr);
      assert.ok(ids.some((id) => new RegExp(`^ +job ${id} `, 'm').test(text.stdout)), `a job id of the batch in:\n${text.stdout}`);
      assert.match(text.stdout, /^leader: scheduler-1 \(epoch \d+/m);

      await until('all done', async () => ((await stack.counts()).completed === ids.length ? true : undefined), 60_000, 200);
      // A job that fails for good, and one that waits (delayed): every state has something to count.
      const [missing] = await stack.queue.addBulk([{ name: 'invert', data: { url: stack.sourceUrl('missing.png'), output: 'missing' }, opts: { attempts: 8 } }]);
      await stack.queue.add('invert', { url: stack.sourceUrl('later.png'), output: 'later' }, { delay: 3_600_000 });
      await until('the failure', async () => ((await stack.counts()).failed === 1 ? true : undefined), 30_000, 100);
      await until('the failure in the published state', async () => ((await snapshot(stack)).state?.recent.some((r) => r.jobId === missing!.id) ? true : undefined), 10_000, 200);

      const s = await snapshot(stack);
      const raw = await stack.queue.getJobCounts();
      assert.deepEqual(
        { waiting: s.queue.counts.waiting, active: s.queue.counts.active, delayed: s.queue.counts.delayed, completed: s.queue.counts.completed, failed: s.queue.counts.failed },
        { waiting: raw.waiting ?? 0, active: raw.active ?? 0, delayed: raw.delayed ?? 0, completed: raw.completed ?? 0, failed: raw.failed ?? 0 },
      );
      assert.deepEqual([s.queue.counts.completed, s.queue.counts.failed, s.queue.counts.delayed], [12, 1, 1]);
      assert.equal(s.queue.paused, false);
      assert.deepEqual(s.state?.executors.map((e) => e.id).sort(), ['executor-1', 'executor-2']);
      for (const e of s.state!.executors) assert.equal(e.total.cpus, 1);
      assert.ok(s.state!.offers.received > 0 && s.state!.offers.accepted > 0);

      // Executors report what they use in their heartbeats: wait for the ones after the last task.
      await until('both executors idle in the published state', async () => ((await snapshot(stack)).state?.executors.every((e) => e.used.cpus === 0) ? true : undefined), 10_000, 200);
      const after = await stack.cli('status', []);
      assert.match(after.stdout, /^ {2}waiting 0 {2}active 0 {2}delayed 1 {2}paused 0 {2}completed 12 {2}failed 1$/m);
      assert.match(after.stdout, /^ {2}executor-1 {2}cpus 0\/1 /m);
      assert.match(after.stdout, /^ {2}executor-2 {2}cpus 0\/1 /m);
      assert.match(after.stdout, new RegExp(`last failures:\\n {2}job ${missing!.id} {2}fail {2}DOWNLOAD_NOT_FOUND {2}attempt 1/8 `));
      assert.match(after.stdout, /last completed:\n {2}job \d+ {2}complete {2}-> src-\d{4}-[0-9a-f]{12}\.png/);

      // Paused: the queue says so, and the job that waits counts as paused.
      await stack.queue.pause();
      await stack.queue.add('invert', { url: stack.sourceUrl('src-0000.png'), output: 'again' });
      const paused = await snapshot(stack);
      assert.deepEqual([paused.queue.paused, paused.queue.counts.waiting, paused.queue.counts.paused], [true, 1, 1]);
      assert.match((await stack.cli('status', [])).stdout, /^queue "[^"]+" {2}PAUSED\n {2}waiting 1 {2}active 0 {2}delayed 1 {2}paused 1 /);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${stack.tail(Number(process.env.TEST_TAIL ?? 8))}`, { cause: err });
    } finally {
      await stack.teardown();
    }
  });

  it('no scheduler on the queue: the clear line naming it; --help exits 0; a bad flag is one line and exit 2; --watch stops on SIGTERM with 0', { timeout: 60_000 }, async () => {
    const stack = new FaultStack(new Map());
    try {
      await stack.start();
      const none = await stack.cli('status', ['--queue', 'nobody-serves-this']);
      assert.equal(none.code, 0, none.stderr);
      assert.match(none.stdout, /^queue "nobody-serves-this"$/m);
      assert.match(none.stdout, /^!! no leading scheduler has published state in the last 10 s: is `npm start` or `npm run scheduler` running on queue "nobody-serves-this"\?$/m);

      const help = await stack.cli('status', ['--help']);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /^usage: npm run status -- \[--watch \[SECONDS\]\] \[--json\] \[--queue NAME\]/);

      const bad = await stack.cli('status', ['--jsn']);
      assert.equal(bad.code, 2);
      assert.equal(bad.stdout, '');
      assert.equal(bad.stderr, 'status: unknown option "--jsn" (see --help)\n');

      // Not a TTY: blocks one after the other, each with a timestamp line; SIGTERM ends it with 0.
      const child = spawn(process.execPath, [STATUS_JS, '--watch', '0.2'], { env: { ...process.env, REDIS_URL: stack.redisUrl, QUEUE_NAME: stack.queueName }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await until('two blocks', () => ((out.match(/^--- \d{4}-\d\d-\d\dT/gm) ?? []).length >= 2 ? true : undefined), 20_000);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.ok(!out.includes('\x1b[2J'), 'no screen clearing when stdout is not a TTY');
    } finally {
      await stack.teardown();
    }
  });
});
