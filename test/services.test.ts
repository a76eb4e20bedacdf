/**
 * Services and cancelling, against a real stack (separate processes, real Redis, real HTTP),
 * driven through the CLIs a user runs: instances answer on the host:port `service list` shows,
 * survive and move when their executor is killed, scale down freeing their ports, are replaced
 * when their health check fails; `cancel` during a batch leaves nothing running.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { Job } from 'bullmq';
import type { ClusterState } from '../common/cluster-state.js';
import type { InstanceRow } from '../client/service-list.js';
import { redisServerOnPath } from '../stack/private-redis.js';
import { makeCorpus } from './faults/corpus.js';
import { FaultStack, sleep, until } from './faults/fault-stack.js';

const TEXT = 'Hello from Server';

async function answer(address: string): Promise<string | undefined> {
  try {
    const res = await fetch(`http://${address}/`, { signal: AbortSignal.timeout(1000) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

function portOpen(address: string): Promise<boolean> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve) => {
    const s = connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function list(stack: FaultStack): Promise<InstanceRow[]> {
  const run = await stack.cli('service', ['list', '--json']);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as InstanceRow[];
}

/** Waits until `n` instances of `name` run healthy and answer their text; returns them. */
async function healthy(stack: FaultStack, name: string, n: number, timeoutMs = 45_000): Promise<InstanceRow[]> {
  return until(
    `${n} healthy ${name} instance(s)`,
    async () => {
      const rows = (await list(stack)).filter((r) => r.service === name);
      const up = rows.filter((r) => r.state === 'RUNNING' && r.health === 'healthy');
      if (up.length !== n || rows.length !== n) return undefined;
      const answers = await Promise.all(up.map((r) => answer(r.address)));
      return answers.every((a) => a === TEXT) ? up : undefined;
    },
    timeoutMs,
    250,
  );
}

async function withStack(executors: number, fn: (stack: FaultStack) => Promise<void>, images = new Map<string, Buffer>(), sourceDelayMs = 300): Promise<void> {
  const stack = new FaultStack(images, '127.0.0.1', undefined, sourceDelayMs);
  try {
    await stack.start();
    stack.startFileserver();
    stack.startScheduler('scheduler-1', { SERVICE_SPREAD_WAIT_MS: '3000' });
    for (let i = 1; i <= executors; i++) stack.startExecutor(`executor-${i}`, { env: { SERVICE_HEALTH_INTERVAL_MS: '500' } });
    await stack.ready();
    await fn(stack);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${stack.tail(8)}`, { cause: err });
  } finally {
    await stack.teardown();
  }
}

describe('services', { skip: !redisServerOnPath() && 'redis-server is not installed' }, () => {
  it('two instances answer their text on both host:port pairs, spread over two executors', { timeout: 90_000 }, () =>
    withStack(2, async (stack) => {
      const start = await stack.cli('service', ['start', 'hello', '--instances', '2', '--text', TEXT]);
      assert.equal(start.code, 0, start.stderr);
      assert.match(start.stdout, /started service hello: 2 instances/);
      const up = await healthy(stack, 'hello', 2);
      assert.deepEqual(up.map((r) => r.instance), [0, 1]);
      assert.equal(new Set(up.map((r) => r.executor)).size, 2, 'one per executor');
      const table = await stack.cli('service', ['list']);
      assert.match(table.stdout, /^SERVICE\s+INSTANCE\s+EXECUTOR\s+HOST:PORT\s+STATE\s+HEALTH\s+AGE$/m);
      assert.match(table.stdout, /^hello\s+0\s+executor-\d\s+127\.0\.0\.1:\d+\s+RUNNING\s+healthy\s+\d+s$/m);
    }));

  it('kill -9 of the executor holding an instance: a new instance comes up elsewhere and answers', { timeout: 120_000 }, () =>
    withStack(2, async (stack) => {
      await stack.cli('service', ['start', 'hello', '--instances', '2', '--text', TEXT]);
      const before = await healthy(stack, 'hello', 2);
      const victim = before[0]!;
      await stack.kill(victim.executor);
      const after = await healthy(stack, 'hello', 2, 60_000);
      assert.ok(after.every((r) => r.executor !== victim.executor), 'both now run on the surviving executor');
      assert.equal(await answer(victim.address), undefined, 'the killed executor took its instance with it');
    }));

  it('scale 2 -> 1 -> 0 frees the ports, and the freed resources are offered and used again', { timeout: 120_000 }, async () =>
    withStack(
      1,
      async (stack) => {
        await stack.cli('service', ['start', 'hello', '--instances', '2', '--text', TEXT]);
        const two = await healthy(stack, 'hello', 2);
        assert.match((await stack.cli('service', ['scale', 'hello', '1'])).stdout, /scaled service hello from 2 to 1/);
        const one = await healthy(stack, 'hello', 1);
        assert.equal(one[0]?.instance, 0, 'the highest instance is the one stopped');
        const freed = two.find((r) => r.instance === 1)!.address;
        await until('instance 1 to free its port', async () => ((await portOpen(freed)) ? undefined : true), 20_000);
        await stack.cli('service', ['scale', 'hello', '0']);
        await until('no instance left', async () => ((await list(stack)).length === 0 ? true : undefined), 20_000, 250);
        for (const r of two) assert.equal(await portOpen(r.address), false, `${r.address} is free`);
        const state = async () => JSON.parse((await stack.redis.get(stack.keys.state)) ?? 'null') as ClusterState | null;
        await until('the executor to hold nothing', async () => ((await state())?.executors[0]?.used.cpus === 0 ? true : undefined), 20_000, 250);
        // Image work now gets the whole executor, and a new instance can take the same port again.
        const jobs = await stack.enqueueAll();
        await until('the image jobs', async () => ((await stack.counts()).completed === jobs.length ? true : undefined), 60_000, 250);
        await stack.cli('service', ['scale', 'hello', '1']);
        const again = await healthy(stack, 'hello', 1);
        assert.equal(again[0]?.address, two[0]?.address, 'the lowest port was offered again');
      },
      await makeCorpus(6),
    ));

  it('an instance whose health check fails is replaced', { timeout: 120_000 }, () =>
    withStack(1, async (stack) => {
      await stack.cli('service', ['start', 'hello', '--instances', '1', '--text', TEXT]);
      const [before] = await healthy(stack, 'hello', 1);
      const pid = Number(execFileSync('pgrep', ['-f', '--', `--service=hello/0 --port=${before!.address.split(':').pop()}`], { encoding: 'utf8' }).trim().split('\n')[0]);
      process.kill(pid, 'SIGSTOP'); // alive, listening, but it answers nothing
      const ended = () => stack.procs.get('scheduler-1')!.lines.some((l) => /service instance ended/.test(l) && /SERVICE_UNHEALTHY/.test(l));
      await until('the scheduler to see it fail its health checks', () => (ended() ? true : undefined), 60_000, 250);
      const [after] = await healthy(stack, 'hello', 1);
      assert.equal(await answer(after!.address), TEXT, 'its replacement answers');
      assert.throws(() => process.kill(pid, 0), 'the frozen instance was killed');
    }));

  it('instances survive the leader: kill -9 and SIGTERM of the scheduler leave them running, and the new leader adopts them', { timeout: 120_000 }, () =>
    withStack(1, async (stack) => {
      await stack.cli('service', ['start', 'hello', '--instances', '2', '--text', TEXT]);
      const before = await healthy(stack, 'hello', 2);
      await stack.kill('scheduler-1');
      stack.startScheduler('scheduler-2', { SERVICE_SPREAD_WAIT_MS: '3000' });
      await until('the new leader', async () => ((await stack.leader())?.schedulerId === 'scheduler-2' ? true : undefined), 20_000);
      await until('the instances adopted', () => (stack.procs.get('scheduler-2')!.lines.filter((l) => /adopted a service instance/.test(l)).length === 2 ? true : undefined), 20_000);
      await stack.stop('scheduler-2');
      for (const r of before) assert.equal(await answer(r.address), TEXT, `${r.address} answers with no scheduler at all`);
      stack.startScheduler('scheduler-3', { SERVICE_SPREAD_WAIT_MS: '3000' });
      const after = await healthy(stack, 'hello', 2);
      assert.deepEqual(after.map((r) => r.address), before.map((r) => r.address), 'the same instances, never restarted');
    }));

  it('an executor stopped with SIGTERM stops its instances, which start again elsewhere', { timeout: 120_000 }, () =>
    withStack(2, async (stack) => {
      await stack.cli('service', ['start', 'hello', '--instances', '1', '--text', TEXT]);
      const [before] = await healthy(stack, 'hello', 1);
      await stack.stop(before!.executor);
      assert.match(stack.procs.get(before!.executor)!.lines.join('\n'), /stopping|service instance ended/);
      const [after] = await healthy(stack, 'hello', 1);
      assert.notEqual(after!.executor, before!.executor);
    }));

  it('bad service commands get one clear line and exit 2', { timeout: 60_000 }, () =>
    withStack(0, async (stack) => {
      const cases: [string[], RegExp][] = [
        [['scale', 'nope', '2'], /no service named "nope"/],
        [['scale', 'hello', '-1'], /instances must be a whole number from 0/],
        [['start', 'Bad_Name', '--instances', '1', '--text', 'x'], /service name "Bad_Name" must be/],
        [['start', 'hello', '--instances', '1', '--text', 'x', '--file', '/etc/hostname'], /either --text or --file, not both/],
        [['start', 'hello', '--instances', '1', '--file', '/no/such/file'], /cannot read \/no\/such\/file/],
        [['frobnicate'], /unknown command "frobnicate"/],
      ];
      for (const [args, message] of cases) {
        const run = await stack.cli('service', args);
        assert.equal(run.code, 2, `${args.join(' ')}: ${run.stdout}${run.stderr}`);
        assert.match(run.stderr, message);
        assert.equal(run.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}`);
      }
    }));
});

describe('cancel', { skip: !redisServerOnPath() && 'redis-server is not installed' }, () => {
  it('cancel --all during a batch of 50 images leaves no task running and no job active', { timeout: 120_000 }, async () => {
    const images = await makeCorpus(50);
    await withStack(
      2,
      async (stack) => {
        const ids = await stack.enqueueAll();
        await until('some jobs done', async () => ((await stack.counts()).completed >= 5 ? true : undefined), 30_000);
        const run = await stack.cli('cancel', ['--all']);
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /^cancelled \d+ jobs: .*running killed/m);
        await until('nothing active', async () => ((await stack.counts()).active === 0 ? true : undefined), 30_000);
        const counts = await stack.counts();
        assert.equal(counts.waiting + counts.delayed, 0, 'nothing left to run');
        const failed = await stack.queue.getFailed();
        assert.ok(failed.length > 0, 'running jobs were killed');
        for (const id of ids) {
          const job = await Job.fromId(stack.queue, id);
          if (!job) continue; // removed while waiting
          const state = await job.getState();
          if (state === 'completed') continue; // finished before the cancel
          assert.equal(state, 'failed', `job ${id} is ${state}`);
          assert.match(job.failedReason, /^CANCELLED/, `job ${id} failed as cancelled`);
          assert.equal(job.attemptsMade, 1, `job ${id} was not retried`);
        }
        await sleep(1500);
        const state = JSON.parse((await stack.redis.get(stack.keys.state)) ?? 'null') as ClusterState | null;
        for (const e of state?.executors ?? []) assert.equal(e.tasks.length, 0, `${e.id} runs nothing`);
        assert.equal((await stack.counts()).active, 0);
      },
      images,
      3000, // long enough downloads that the cancel catches runs in flight
    );
  });
});
