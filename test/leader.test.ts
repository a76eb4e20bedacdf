/**
 * The leading scheduler's decisions against typed test doubles: no Redis, no sockets. The real
 * BullMQ adapter, streams and failover are covered by the integration suites.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { silentLogger } from '../common/log.js';
import type { ExecutorEvent, ItemStatus, Offer, SchedulerCall, TaskInfo, TaskReport, TaskStatus } from '../protocol/types.js';
import type { ServiceDef } from '../common/service-def.js';
import { Leader, type LeaderOptions } from '../scheduler/leader.js';
import { FakeQueue } from './helpers/fake-queue.js';

const OPTS: LeaderOptions = {
  task: { cpus: 0.5, memMb: 256, ports: 0 },
  maxTasksPerOffer: 64,
  refuseSeconds: 5,
  lockDurationMs: 30_000,
  executorTimeoutMs: 10_000,
  revivePollMs: 100_000,
  reconcileTimeoutMs: 60_000,
  sweepIntervalMs: 100_000,
  hostMaxConcurrency: 32,
  serviceShare: 0.5,
  serviceSpreadWaitMs: 5000,
  taskImages: { maxImages: 1, targetTaskMs: 250 },
};
/** Stream entry ids as Redis would give them: the n-th call sent is "1000-n". */
const entryIds = (total: number, count: number) => Array.from({ length: count }, (_, i) => `1000-${total - count + i + 1}`);
/** Lets the leader's pending calls leave (they go at the next turn of the event loop). */
const tick = () => new Promise((r) => setImmediate(r));
type EventBody = ExecutorEvent extends infer E ? (E extends ExecutorEvent ? Omit<E, 'sentAtMs' | 'bootId'> : never) : never;
const result = { name: 'x.png', url: 'u', bytes: 1, width: 1, height: 1, format: 'png', durationMs: 1, downloadMs: 0, invertMs: 1, uploadMs: 0, sourceBytes: 1 };

describe('Leader', () => {
  let now: number;
  let queue: FakeQueue;
  let sent: { to: string; call: SchedulerCall }[];
  let seqs: Map<string, string>;
  let services: Map<string, ServiceDef>;
  let cancelled: Set<string>;
  let leader: Leader;
  let previous: Leader | undefined;

  const make = (opts: Partial<LeaderOptions> = {}) => {
    previous?.abdicate();
    leader = new Leader(
      {
        term: { epoch: 1, valid: () => true },
        queue,
        bus: { send: async (to, calls) => entryIds(sent.push(...calls.map((call) => ({ to, call }))), calls.length), keepInbox: async () => undefined },
        alive: { knownExecutors: async () => [...seqs.keys()], forgetExecutors: async () => undefined, readSeqs: async (ids) => new Map(ids.flatMap((id) => (seqs.has(id) ? [[id, seqs.get(id)!]] : []))) },
        services: { load: async () => services },
        cancels: { pending: async () => [...cancelled], done: async (ids) => ids.forEach((id) => cancelled.delete(id)) },
        isCancelled: async (id) => cancelled.has(id),
      },
      { ...OPTS, ...opts },
      silentLogger,
      () => now,
      { failureThreshold: 3, openBaseMs: 1000, openMaxMs: 8000, giveUpAfterMs: 600_000 },
      () => undefined,
    );
    previous = leader;
    return leader;
  };
  const ev = (e: EventBody): ExecutorEvent => ({ sentAtMs: now, bootId: 'b', ...e }) as ExecutorEvent;
  const offer = (id: string, cpus: number, executorId = 'e1', memMb = 4096) =>
    ev({ executorId, kind: 'offer', offer: { id, executorId, hostname: 'h', resources: { cpus, memMb, ports: [] }, ttlMs: 10_000, advertiseHost: '127.0.0.1' } satisfies Offer });
  const item = (t: TaskInfo, over: Partial<ItemStatus>): ItemStatus => ({ token: t.images[0]!.token, jobId: t.images[0]!.jobId, state: 'TASK_RUNNING', stage: 'download', message: 'm', ...over });
  const update = (t: TaskInfo, over: Partial<ItemStatus>, uuid?: string, executorId = t.executorId) => {
    const it = item(t, over);
    const status: TaskStatus = { taskId: t.taskId, executorId, state: it.state, stage: it.stage, message: '', timestamp: now / 1000, items: [it] };
    if (uuid) status.uuid = uuid;
    return ev({ executorId, kind: 'update', status });
  };
  const heartbeat = (executorId: string, tasks: string[], inboxPosition = '') =>
    ev({ executorId, kind: 'heartbeat', running: tasks.length, tasks, seq: 1, resources: { cpus: 2, memMb: 4096, ports: [] }, used: { cpus: 0, memMb: 0, ports: [] }, inboxHealthy: true, draining: false, inboxPosition });
  const launched = () => sent.flatMap((s) => (s.call.kind === 'launch' ? s.call.tasks : []));
  const calls = (kind: SchedulerCall['kind']) => sent.filter((s) => s.call.kind === kind);

  beforeEach(async () => {
    now = 1_000_000;
    queue = new FakeQueue();
    sent = [];
    seqs = new Map();
    services = new Map();
    cancelled = new Set();
    make();
    await leader.start();
  });
  afterEach(() => leader.abdicate());

  it('launches as many jobs as the offer fits, each with its own token, output name and source', async () => {
    for (const id of ['1', '2', '3', '4', '5']) queue.add(id);
    await leader.handleEvents([offer('o1', 1.5)]);
    const tasks = launched();
    assert.deepEqual(tasks.map((t) => t.images[0]?.jobId), ['1', '2', '3']);
    assert.equal(new Set(tasks.map((t) => t.taskId)).size, 3);
    assert.equal(tasks[0]?.taskId, tasks[0]?.images[0]?.token, 'a one-image task is named by its token');
    assert.deepEqual(tasks[0]?.resources, { cpus: 0.5, memMb: 256, ports: [] });
    assert.deepEqual(tasks[0]?.images[0], { token: tasks[0]!.taskId, jobId: '1', sourceUrl: 'http://src/1.png', outputName: 'out-1', attempt: 1 });
    assert.equal(queue.locks.get('1'), tasks[0]?.taskId, 'the token holds the job lock');
    assert.equal(sent[0]?.call.kind === 'launch' && sent[0].call.offerId, 'o1');
  });

  it('launches the jobs it did fetch when a sibling fetch fails', async () => {
    queue.add('1');
    queue.add('2');
    const take = queue.take.bind(queue);
    let n = 0;
    queue.take = async (token) => (++n === 2 ? Promise.reject(new Error('connection reset')) : take(token));
    await leader.handleEvents([offer('o1', 1.5)]);
    assert.deepEqual(launched().map((t) => t.images[0]?.jobId), ['1', '2']);
  });

  it('declines with the refuse period when there is no work, and revives once jobs arrive', async () => {
    await leader.handleEvents([offer('o1', 2)]);
    assert.deepEqual(sent.map((s) => s.call), [{ kind: 'decline', offerId: 'o1', refuseSeconds: 5 }]);
    await leader.reviveIfWork();
    await tick();
    assert.equal(sent.length, 1, 'no revive without work');
    queue.add('1');
    await leader.reviveIfWork();
    await tick();
    assert.deepEqual(sent[1], { to: 'e1', call: { kind: 'revive' } });
    await leader.reviveIfWork();
    await tick();
    assert.equal(sent.length, 2, 'revived once');
  });

  it('declines an offer too small for one task with refuse 0, without touching the queue', async () => {
    queue.add('1');
    await leader.handleEvents([offer('o1', 0.25)]);
    assert.deepEqual(sent.map((s) => s.call), [{ kind: 'decline', offerId: 'o1', refuseSeconds: 0 }]);
    assert.equal(queue.waiting.length, 1);
  });

  it('fails a job with invalid data for good instead of launching it', async () => {
    queue.add('bad', 'file:///etc/passwd');
    queue.add('good');
    await leader.handleEvents([offer('o1', 2)]);
    assert.deepEqual(queue.calls, ['fail bad INVALID_TASK']);
    assert.deepEqual(launched().map((t) => t.images[0]?.jobId), ['good']);
  });

  it('maps run outcomes to job outcomes and acknowledges terminal updates once applied', async () => {
    for (const id of ['1', '2', '3', '4']) queue.add(id);
    await leader.handleEvents([offer('o1', 2)]);
    const [t1, t2, t3, t4] = launched();
    await leader.handleEvents([
      update(t1!, { state: 'TASK_RUNNING', stage: 'invert' }),
      update(t1!, { state: 'TASK_FINISHED', stage: 'done', result }, 'aa'),
      update(t2!, { state: 'TASK_FAILED', reason: 'DOWNLOAD_NOT_FOUND' }, 'bb'),
      update(t3!, { state: 'TASK_FAILED', reason: 'DOWNLOAD_TIMEOUT' }, 'cc'),
      update(t4!, { state: 'TASK_LOST', reason: 'INVALID_OFFER' }, 'dd'),
    ]);
    assert.deepEqual(queue.calls.sort(), ['complete 1 x.png', 'fail 2 DOWNLOAD_NOT_FOUND', 'requeue 4', 'retry 3 DOWNLOAD_TIMEOUT'].sort());
    assert.deepEqual(calls('acknowledge').map((s) => (s.call.kind === 'acknowledge' ? s.call.uuid : '')).sort(), ['aa', 'bb', 'cc', 'dd']);
    assert.equal(leader.activeTasks, 0);
  });

  it('does not acknowledge a result whose job update failed, and applies it when it comes again', async () => {
    queue.add('1');
    await leader.handleEvents([offer('o1', 0.5)]);
    const [t] = launched();
    queue.failNextWrite = true;
    await assert.rejects(leader.handleEvents([update(t!, { state: 'TASK_FINISHED', stage: 'done', result }, 'aa')]));
    assert.equal(calls('acknowledge').length, 0, 'not acknowledged: the executor re-sends');
    assert.equal(leader.activeTasks, 1, 'the task is still known');
    await leader.handleEvents([update(t!, { state: 'TASK_FINISHED', stage: 'done', result }, 'aa')]);
    assert.deepEqual(queue.calls, ['complete 1 x.png']);
    assert.equal(calls('acknowledge').length, 1);
  });

  it('applies a duplicate terminal update once but acknowledges it again', async () => {
    queue.add('1');
    await leader.handleEvents([offer('o1', 0.5)]);
    const done = update(launched()[0]!, { state: 'TASK_FINISHED', stage: 'done', result }, 'aa');
    await leader.handleEvents([done]);
    await leader.handleEvents([done]);
    assert.deepEqual(queue.calls, ['complete 1 x.png']);
    assert.equal(calls('acknowledge').length, 2);
  });

  it('ignores an update from an executor that does not run the task', async () => {
    queue.add('1');
    await leader.handleEvents([offer('o1', 0.5)]);
    await leader.handleEvents([update(launched()[0]!, { state: 'TASK_FINISHED', result }, 'aa', 'e2')]);
    assert.deepEqual(queue.calls, []);
  });

  it('writes RUNNING progress with state and stage, once per change', async () => {
    queue.add('1');
    await leader.handleEvents([offer('o1', 0.5)]);
    const t = launched()[0]!;
    await leader.handleEvents([update(t, { state: 'TASK_RUNNING', stage: 'upload' })]);
    await leader.handleEvents([update(t, { state: 'TASK_RUNNING', stage: 'upload' })]);
    assert.deepEqual(queue.calls, ['progress 1 TASK_RUNNING upload']);
  });

  it('judges liveness by the executor\'s own sequence, not by when events were read', async () => {
    queue.add('1');
    queue.add('2');
    seqs.set('e1', 'x:1').set('e2', 'y:1');
    await leader.handleEvents([offer('o1', 0.5, 'e1'), offer('o2', 0.5, 'e2')]);
    await leader.liveness.poll();
    await tick();
    // No events are read for 11 s (a leader behind its inbox), but e2's sequence keeps moving.
    for (let i = 2; i <= 12; i++) {
      now += 1_000;
      seqs.set('e2', `y:${i}`);
      await leader.liveness.poll();
      await tick();
    }
    assert.deepEqual(queue.calls, ['retry 1 EXECUTOR_LOST'], 'only the silent executor lost its task');
    assert.equal(leader.registry.get('e1')?.lost, true);
    assert.equal(leader.registry.get('e2')?.lost, false);
  });

  it('an executor declared lost that comes back is asked to reconcile, and its stale run is killed', async () => {
    queue.add('1');
    seqs.set('e1', 'x:1');
    await leader.handleEvents([offer('o1', 0.5)]);
    const t = launched()[0]!;
    for (let i = 0; i < 12; i++) {
      now += 1_000;
      await leader.liveness.poll();
      await tick();
    }
    assert.deepEqual(queue.calls, ['retry 1 EXECUTOR_LOST']);
    seqs.set('e1', 'x:2'); // it was only paused
    await leader.liveness.poll();
    await tick();
    assert.deepEqual(calls('reconcile').map((s) => s.to), ['e1']);
    const running: TaskReport = { info: t, status: { taskId: t.taskId, executorId: 'e1', state: 'TASK_RUNNING', stage: 'invert', message: '', timestamp: 1, items: [item(t, {})] } };
    await leader.handleEvents([ev({ executorId: 'e1', kind: 'reconciled', epoch: 1, tasks: [running], resources: { cpus: 2, memMb: 4096, ports: [] } })]);
    assert.deepEqual(calls('kill').map((s) => s.call), [{ kind: 'kill', taskId: t.taskId, reason: 'TASK_KILLED' }]);
  });

  it('requeues and kills a launch its executor read past without knowing it, judged by inbox position', async () => {
    queue.add('1');
    await leader.handleEvents([offer('o1', 0.5)]);
    assert.equal(sent.length, 1, 'the launch landed at 1000-1');
    now += 60_000; // however late: the leader's clock does not decide
    await leader.handleEvents([heartbeat('e1', [], '999-5')]);
    assert.deepEqual(queue.calls, [], 'the executor has not read that far: the launch is still on its way');
    await leader.handleEvents([heartbeat('e1', [], '1000-1')]);
    assert.deepEqual(queue.calls, ['requeue 1']);
    assert.equal(calls('kill').length, 1, 'killed, in case it arrives after all');
  });

  it('a re-registering executor loses the tasks it no longer runs', async () => {
    queue.add('1');
    await leader.handleEvents([offer('o1', 0.5)]);
    await leader.handleEvents([ev({ executorId: 'e1', kind: 'register', hostname: 'h', resources: { cpus: 2, memMb: 4096, ports: [] }, running: [], pid: 1, advertiseHost: '' })]);
    assert.deepEqual(queue.calls, ['retry 1 EXECUTOR_LOST']);
  });

  it('on handover leaves running tasks alone and declines further offers', async () => {
    queue.add('1');
    await leader.handleEvents([offer('o1', 0.5)]);
    const before = sent.length;
    await leader.handover();
    assert.deepEqual(queue.calls, [], 'nothing requeued');
    assert.equal(calls('kill').length, 0, 'nothing killed');
    assert.equal(queue.active.size, 1, 'the job stays active for the next leader');
    await assert.rejects(leader.handleEvents([offer('o2', 2)]), /no longer leads/, 'an ended term leaves events pending');
    assert.equal(sent.length, before, 'an ended term sends nothing');
  });

  it('applies the result of a run it did not launch when its token still holds the job lock', async () => {
    const job = queue.activate('7', 'old-token');
    const info: TaskInfo = { taskId: 'old-token', name: '', executorId: 'e1', resources: { cpus: 0.5, memMb: 256, ports: [] }, images: [{ token: 'old-token', jobId: '7', sourceUrl: job.data.url, outputName: job.data.output, attempt: 1 }] };
    await leader.handleEvents([update(info, { state: 'TASK_FINISHED', stage: 'done', result }, 'u1')]);
    assert.deepEqual(queue.calls, ['complete 7 x.png']);
    assert.equal(calls('acknowledge').length, 1);
    // A stale duplicate from a run that no longer owns its job is dropped, and acknowledged.
    queue.activate('8', 'new-token');
    const stale = { ...info, taskId: 'stale', images: [{ ...info.images[0]!, token: 'stale', jobId: '8' }] };
    await leader.handleEvents([update(stale, { state: 'TASK_FINISHED', stage: 'done', result }, 'u2')]);
    assert.deepEqual(queue.calls, ['complete 7 x.png']);
    assert.equal(calls('acknowledge').length, 2);
  });

  it('asks an executor to reconcile a running task it lists that the leader does not know', async () => {
    await leader.handleEvents([heartbeat('e1', ['mystery'])]);
    assert.deepEqual(calls('reconcile').map((s) => s.call), [{ kind: 'reconcile', taskIds: ['mystery'] }]);
  });

  it('holds a failing host\'s jobs back without spending their attempts once its circuit opens', async () => {
    for (const id of ['1', '2', '3', '4']) queue.add(id, `http://down.example/${id}.png`);
    queue.add('5', 'http://up.example/5.png');
    await leader.handleEvents([offer('o1', 1.5)]);
    const [t1, t2, t3] = launched();
    await leader.handleEvents([
      update(t1!, { state: 'TASK_FAILED', reason: 'DOWNLOAD_CONNECTION' }, 'a'),
      update(t2!, { state: 'TASK_FAILED', reason: 'DOWNLOAD_CONNECTION' }, 'b'),
      update(t3!, { state: 'TASK_FAILED', reason: 'DOWNLOAD_CONNECTION' }, 'c'),
    ]);
    assert.deepEqual(queue.calls.sort(), ['delay 3', 'retry 1 DOWNLOAD_CONNECTION', 'retry 2 DOWNLOAD_CONNECTION'].sort());
    queue.calls = [];
    await leader.handleEvents([offer('o2', 2)]);
    assert.deepEqual(queue.calls, ['delay 4'], 'the open host\'s job waits');
    assert.deepEqual(launched().slice(3).map((t) => t.images[0]?.jobId), ['5'], 'other hosts run');
  });

  it('parks jobs beyond a host\'s limit and launches them when a run of that host ends', async () => {
    make({ hostMaxConcurrency: 1 });
    await leader.start();
    for (const id of ['1', '2', '3']) queue.add(id);
    await leader.handleEvents([offer('o1', 2)]);
    assert.deepEqual(launched().map((t) => t.images[0]?.jobId), ['1']);
    assert.equal(leader.offers.parked.size, 2);
    await leader.handleEvents([update(launched()[0]!, { state: 'TASK_FINISHED', stage: 'done', result }, 'a'), offer('o2', 2)]);
    assert.deepEqual(launched().map((t) => t.images[0]?.jobId), ['1', '2']);
    assert.equal(leader.offers.parked.size, 1);
  });
  it('batches small images into tasks of several once it knows what an image of that host costs', async () => {
    make({ taskImages: { maxImages: 4, targetTaskMs: 250 } });
    await leader.start();
    for (let i = 1; i <= 10; i++) queue.add(String(i));
    await leader.handleEvents([offer('o1', 0.5)]);
    assert.deepEqual(launched().map((t) => t.images.length), [1], 'one image per task until a cost is known');
    await leader.handleEvents([update(launched()[0]!, { state: 'TASK_FINISHED', stage: 'done', result: { ...result, durationMs: 40 } }, 'a')]);
    await leader.handleEvents([offer('o2', 1)]);
    const batches = launched().slice(1);
    assert.deepEqual(batches.map((t) => t.images.length), [4, 4], '250 ms / 40 ms per image, capped at 4');
    assert.equal(new Set(batches.flatMap((t) => t.images.map((i) => i.token))).size, 8, 'each image its own token');
    assert.notEqual(batches[0]?.taskId, batches[0]?.images[0]?.token, 'a task of several is named apart');
    // One image failing does not touch its siblings.
    const t = batches[0]!;
    const status: TaskStatus = {
      taskId: t.taskId, executorId: 'e1', state: 'TASK_FAILED', stage: 'done', message: '', timestamp: 1, uuid: 'b1',
      items: t.images.map((img, i) => (i === 0
        ? { token: img.token, jobId: img.jobId, state: 'TASK_FAILED', stage: 'download', reason: 'DOWNLOAD_NOT_FOUND', message: '404' }
        : { token: img.token, jobId: img.jobId, state: 'TASK_FINISHED', stage: 'done', message: '', result })),
    };
    queue.calls = [];
    await leader.handleEvents([ev({ executorId: 'e1', kind: 'update', status })]);
    assert.deepEqual(queue.calls.sort(), [`fail ${t.images[0]!.jobId} DOWNLOAD_NOT_FOUND`, ...t.images.slice(1).map((i) => `complete ${i.jobId} x.png`)].sort());
    assert.equal(leader.ledger.get(t.taskId), undefined, 'the task is done');
  });

  it('gives heavy images a whole cpu each, or the whole of an executor that has less', async () => {
    for (const id of ['1', '2', '3', '4']) queue.add(id);
    const register = (executorId: string, cpus: number) =>
      ev({ executorId, kind: 'register', hostname: 'h', resources: { cpus, memMb: 4096, ports: [] }, running: [], pid: 1, advertiseHost: '' });
    await leader.handleEvents([register('e1', 2), register('small', 0.5), offer('o1', 0.5, 'small')]);
    const [first] = launched();
    await leader.handleEvents([update(first!, { state: 'TASK_FINISHED', stage: 'done', result: { ...result, invertMs: 80 } }, 'a')]);
    await leader.handleEvents([offer('o2', 2, 'e1')]);
    assert.deepEqual(launched().slice(1).map((t) => t.resources.cpus), [1, 1], 'heavy: one cpu each');
    // Asking a 0.5-cpu executor for a whole cpu would decline its every offer (refuse 0): it would never run a job again.
    await leader.handleEvents([offer('o3', 0.5, 'small')]);
    assert.deepEqual(launched().slice(3).map((t) => [t.executorId, t.resources.cpus]), [['small', 0.5]]);
  });

  it('gives an image that ran out of memory a task of what it needs, saving memory up for it', async () => {
    for (const id of ['1', '2', '3']) queue.add(id);
    await leader.handleEvents([
      ev({ executorId: 'e1', kind: 'register', hostname: 'h', resources: { cpus: 2, memMb: 1024, ports: [] }, running: [], pid: 1, advertiseHost: '' }),
      offer('o1', 2, 'e1', 1024),
    ]);
    const first = launched()[0]!;
    await leader.handleEvents([update(first, { state: 'TASK_FAILED', stage: 'invert', reason: 'RESOURCES_EXCEEDED', memMbNeeded: 600 }, 'r1')]);
    assert.deepEqual(queue.calls, ['requeue 1'], 'no attempt spent');
    assert.equal(queue.jobs.get('1')?.data.memMb, 600, 'the job remembers what it needs');
    // 512 MB free: too little for it, and nothing else is launched meanwhile.
    const before = launched().length;
    await leader.handleEvents([offer('o2', 1, 'e1', 512)]);
    assert.equal(launched().length, before, 'memory is saved up for the big image');
    await leader.handleEvents([offer('o3', 2, 'e1', 1024)]);
    const big = launched().find((t) => t.images[0]?.jobId === '1' && t !== first)!;
    assert.deepEqual(big.images.length, 1, 'alone');
    assert.equal(big.resources.memMb, 600, 'with the memory it needs');
  });

  it('fails an image that needs more memory than any executor has', async () => {
    queue.add('1');
    queue.jobs.get('1')!.data.memMb = 9000;
    await leader.handleEvents([
      ev({ executorId: 'e1', kind: 'register', hostname: 'h', resources: { cpus: 2, memMb: 1024, ports: [] }, running: [], pid: 1, advertiseHost: '' }),
      offer('o1', 2, 'e1', 1024),
    ]);
    await tick();
    assert.deepEqual(queue.calls, ['fail 1 IMAGE_TOO_LARGE']);
  });

  describe('services', () => {
    const def = (name: string, instances: number, cpus = 0.1): ServiceDef => ({
      name, instances, body: Buffer.from('hi'), contentType: 'text/plain', cpus, memMb: 64, healthPath: '/healthz', createdAtMs: 0, updatedAtMs: 0,
    });
    const register = (executorId: string, cpus = 2) =>
      ev({ executorId, kind: 'register', hostname: 'h', resources: { cpus, memMb: 4096, ports: [{ begin: 31000, end: 31009 }] }, running: [], pid: 1, advertiseHost: '10.0.0.1' });
    const portOffer = (id: string, executorId: string, cpus = 2, ports = [{ begin: 31000, end: 31009 }]) =>
      ev({ executorId, kind: 'offer', offer: { id, executorId, hostname: 'h', resources: { cpus, memMb: 4096, ports }, ttlMs: 10_000, advertiseHost: '10.0.0.1' } });
    const serviceLaunches = () => launched().filter((t) => t.service);

    it('spreads instances across executors, one port each from the offer', async () => {
      services.set('hello', def('hello', 2));
      await leader.services.refresh();
      await tick();
      await leader.handleEvents([register('e1'), register('e2'), portOffer('o1', 'e1')]);
      assert.deepEqual(serviceLaunches().map((t) => [t.executorId, t.service?.instance, t.service?.port, t.resources.ports]), [['e1', 0, 31000, [{ begin: 31000, end: 31000 }]]]);
      await leader.handleEvents([portOffer('o2', 'e1', 1.9, [{ begin: 31001, end: 31009 }])]);
      assert.equal(serviceLaunches().length, 1, 'waits for e2 rather than doubling up on e1');
      await leader.handleEvents([portOffer('o3', 'e2')]);
      assert.deepEqual(serviceLaunches().map((t) => [t.executorId, t.service?.instance]), [['e1', 0], ['e2', 1]]);
    });

    it('doubles up when no other executor offers within the spread wait', async () => {
      services.set('hello', def('hello', 2));
      await leader.services.refresh();
      await tick();
      await leader.handleEvents([register('e1'), register('e2'), portOffer('o1', 'e1')]);
      now += 6_000;
      await leader.handleEvents([portOffer('o2', 'e1', 1.9, [{ begin: 31001, end: 31009 }])]);
      assert.deepEqual(serviceLaunches().map((t) => [t.executorId, t.service?.port]), [['e1', 31000], ['e1', 31001]]);
    });

    it('keeps services within their share of an executor, and image tasks take what is left but no port', async () => {
      services.set('big', def('big', 3, 0.6));
      await leader.services.refresh();
      await tick();
      queue.add('1');
      await leader.handleEvents([register('e1'), portOffer('o1', 'e1')]);
      assert.equal(serviceLaunches().length, 1, 'half of 2 cpus holds one 0.6-cpu instance');
      const images = launched().filter((t) => t.images.length > 0);
      assert.equal(images.length, 1);
      assert.deepEqual(images[0]?.resources.ports, [], 'image tasks take no port');
    });

    it('heavy image tasks on a one-cpu executor that runs a service get the cpu the service leaves', async () => {
      services.set('hello', def('hello', 1, 0.25));
      await leader.services.refresh();
      await tick();
      for (const id of ['1', '2']) queue.add(id);
      await leader.handleEvents([register('e1', 1), portOffer('o1', 'e1', 1)]);
      assert.equal(serviceLaunches().length, 1);
      const first = launched().find((t) => t.images.length > 0)!;
      await leader.handleEvents([update(first, { state: 'TASK_FINISHED', stage: 'done', result: { ...result, invertMs: 80 } }, 'a')]);
      await leader.handleEvents([portOffer('o2', 'e1', 0.75, [{ begin: 31001, end: 31009 }])]);
      const images = launched().filter((t) => t.images.length > 0);
      assert.deepEqual(images.slice(1).map((t) => t.resources.cpus), [0.75], 'all but the service\'s 0.25 cpu, not a whole cpu it can never offer');
    });

    it('does not save memory up for a big image that could only fit where a service instance sits', async () => {
      services.set('hello', def('hello', 1));
      await leader.services.refresh();
      await tick();
      for (const id of ['big', '1', '2', '3']) queue.add(id);
      queue.jobs.get('big')!.data.memMb = 1000;
      const ports = [{ begin: 31000, end: 31009 }];
      const memOffer = (id: string, memMb: number) => ev({ executorId: 'e1', kind: 'offer', offer: { id, executorId: 'e1', hostname: 'h', resources: { cpus: 2, memMb, ports }, ttlMs: 10_000, advertiseHost: '10.0.0.1' } });
      await leader.handleEvents([ev({ executorId: 'e1', kind: 'register', hostname: 'h', resources: { cpus: 2, memMb: 1024, ports }, running: [], pid: 1, advertiseHost: '10.0.0.1' }), memOffer('o1', 1024)]);
      assert.equal(serviceLaunches().length, 1);
      const first = launched().filter((t) => t.images.length > 0);
      assert.deepEqual(first.map((t) => t.images[0]?.jobId), ['1', '2'], 'the big one (1000 MB) does not fit beside the service');
      await leader.handleEvents(first.map((t, i) => update(t, { state: 'TASK_FINISHED', stage: 'done', result }, `u${i}`)));
      // All but the service's 64 MB is free, and that is all it will ever be: 960 MB.
      await leader.handleEvents([memOffer('o2', 960)]);
      assert.deepEqual(launched().filter((t) => t.images.length > 0).slice(2).map((t) => t.images[0]?.jobId), ['3'], 'image work goes on');
    });

    it('scales down by killing the highest instances, and replaces an instance that ended', async () => {
      services.set('hello', def('hello', 2));
      await leader.services.refresh();
      await tick();
      await leader.handleEvents([register('e1'), portOffer('o1', 'e1')]);
      now += 6_000;
      await leader.handleEvents([portOffer('o2', 'e1', 1.9, [{ begin: 31001, end: 31009 }])]);
      const [first, second] = serviceLaunches();
      services.set('hello', def('hello', 1));
      await leader.services.refresh();
      await tick();
      assert.deepEqual(calls('kill').map((s) => s.call), [{ kind: 'kill', taskId: second!.taskId, reason: 'TASK_KILLED' }]);
      const ended = (t: TaskInfo, state: TaskStatus['state'], uuid: string) =>
        ev({ executorId: 'e1', kind: 'update', status: { taskId: t.taskId, executorId: 'e1', state, stage: 'serve', message: '', timestamp: 1, uuid, items: [] } });
      await leader.handleEvents([ended(second!, 'TASK_KILLED', 'k1')]);
      await leader.handleEvents([portOffer('o3', 'e1', 1.8, [{ begin: 31001, end: 31009 }])]);
      assert.equal(serviceLaunches().length, 2, 'nothing relaunched after a scale-down');
      await leader.handleEvents([ended(first!, 'TASK_FAILED', 'f1')]);
      await leader.handleEvents([portOffer('o4', 'e1', 2)]);
      assert.deepEqual(serviceLaunches().slice(2).map((t) => [t.service?.name, t.service?.instance]), [['hello', 0]], 'the failed instance is replaced');
    });

    it('revives declined executors when an instance is missing', async () => {
      await leader.handleEvents([register('e1'), portOffer('o1', 'e1')]);
      assert.equal(calls('decline').length, 1);
      services.set('hello', def('hello', 1));
      await leader.services.refresh();
      await tick();
      await leader.reviveIfWork();
      await tick();
      assert.deepEqual(calls('revive').map((s) => s.to), ['e1']);
    });
  });

  describe('cancel', () => {
    it('kills a running job\'s run with reason CANCELLED and fails the job as CANCELLED, without retry', async () => {
      queue.add('1');
      await leader.handleEvents([offer('o1', 0.5)]);
      const t = launched()[0]!;
      cancelled.add('1');
      await leader.handleEvents([]);
      await leader.cancellations.poll();
      await tick();
      assert.deepEqual(calls('kill').map((s) => s.call), [{ kind: 'kill', taskId: t.taskId, reason: 'CANCELLED' }]);
      await leader.handleEvents([update(t, { state: 'TASK_KILLED', reason: 'TASK_KILLED' }, 'k')]);
      assert.deepEqual(queue.calls, ['fail 1 CANCELLED']);
      await leader.cancellations.poll();
      await tick();
      assert.equal(cancelled.size, 0, 'done with it once the job is finished');
    });

    it('fails a parked job and removes one that went back to waiting', async () => {
      make({ hostMaxConcurrency: 1 });
      await leader.start();
      for (const id of ['1', '2']) queue.add(id);
      await leader.handleEvents([offer('o1', 2)]);
      assert.equal(leader.offers.parked.size, 1);
      queue.add('3');
      cancelled.add('2').add('3');
      await leader.cancellations.poll();
      await tick();
      assert.deepEqual(queue.calls.sort(), ['fail 2 CANCELLED', 'remove 3']);
      assert.equal(leader.offers.parked.size, 0);
    });
  });
});

describe('Leader takeover', () => {
  it('adopts runs whose token holds their job lock, kills the rest, and requeues jobs nobody runs once all executors answered', async (t) => {
    const queue = new FakeQueue();
    const sent: { to: string; call: SchedulerCall }[] = [];
    const adoptedJob = queue.activate('a', 'tok-a');
    queue.activate('b', 'tok-b'); // its executor died with it
    queue.activate('c', null); // lock expired
    const leader = new Leader(
      {
        term: { epoch: 1, valid: () => true },
        queue,
        bus: { send: async (to, calls) => entryIds(sent.push(...calls.map((call) => ({ to, call }))), calls.length), keepInbox: async () => undefined },
        alive: { knownExecutors: async () => ['e1', 'e2'], forgetExecutors: async () => undefined, readSeqs: async () => new Map([['e1', '1:1'], ['e2', '2:1']]) },
        services: { load: async () => new Map() },
        cancels: { pending: async () => [], done: async () => undefined },
        isCancelled: async () => false,
      },
      OPTS,
      silentLogger,
      Date.now,
      undefined,
      () => undefined,
    );
    t.after(() => leader.abdicate());
    const started = leader.start();
    await new Promise((r) => setTimeout(r, 10));
    const asked = sent.filter((s) => s.call.kind === 'reconcile');
    assert.deepEqual(asked.map((s) => s.to).sort(), ['e1', 'e2']);
    assert.deepEqual(asked[0]?.call.kind === 'reconcile' && asked[0].call.taskIds.sort(), ['tok-a', 'tok-b'], 'explicit: the active jobs\' tokens');
    const info = (token: string, jobId: string): TaskInfo => ({
      taskId: token, name: '', executorId: 'e1', resources: { cpus: 0.5, memMb: 256, ports: [] },
      images: [{ token, jobId, sourceUrl: adoptedJob.data.url, outputName: 'o', attempt: 1 }],
    });
    const running = (t: TaskInfo): TaskReport => ({ info: t, status: { taskId: t.taskId, executorId: 'e1', state: 'TASK_RUNNING', stage: 'invert', message: '', timestamp: 1, items: [{ token: t.taskId, jobId: t.images[0]!.jobId, state: 'TASK_RUNNING', stage: 'invert', message: '' }] } });
    const resources = { cpus: 2, memMb: 4096, ports: [] };
    await leader.handleEvents([
      { executorId: 'e1', sentAtMs: 0, bootId: 'b', kind: 'reconciled', epoch: 1, resources, tasks: [running(info('tok-a', 'a')), running(info('tok-zombie', 'z'))] },
    ]);
    assert.equal(queue.calls.length, 0, 'nothing requeued before every live executor answered');
    await leader.handleEvents([{ executorId: 'e2', sentAtMs: 0, bootId: 'b', kind: 'reconciled', epoch: 1, resources, tasks: [] }]);
    await started;
    assert.equal(leader.ledger.byToken('tok-a')?.task.adopted, true, 'adopted');
    assert.deepEqual(queue.calls.sort(), ['requeue b', 'requeue c']);
    assert.deepEqual(sent.filter((s) => s.call.kind === 'kill').map((s) => s.call), [{ kind: 'kill', taskId: 'tok-zombie', reason: 'TASK_KILLED' }]);
    // The adopted run's result is applied under its own token.
    await leader.handleEvents([
      { executorId: 'e1', sentAtMs: 0, bootId: 'b', kind: 'update', status: { taskId: 'tok-a', executorId: 'e1', state: 'TASK_FINISHED', stage: 'done', message: '', timestamp: 2, uuid: 'ff', items: [{ token: 'tok-a', jobId: 'a', state: 'TASK_FINISHED', stage: 'done', message: '', result }] } },
    ]);
    assert.ok(queue.calls.includes('complete a x.png'));
  });
});

describe('Leader takeover, edge cases', () => {
  const setup = (t: { after(fn: () => void): void }) => {
    const queue = new FakeQueue();
    const sent: { to: string; call: SchedulerCall }[] = [];
    const leader = new Leader(
      {
        term: { epoch: 5, valid: () => true },
        queue,
        bus: { send: async (to, calls) => entryIds(sent.push(...calls.map((call) => ({ to, call }))), calls.length), keepInbox: async () => undefined },
        alive: { knownExecutors: async () => ['e1'], forgetExecutors: async () => undefined, readSeqs: async () => new Map([['e1', '1:1']]) },
        services: { load: async () => new Map() },
        cancels: { pending: async () => [], done: async () => undefined },
        isCancelled: async () => false,
      },
      OPTS,
      silentLogger,
      Date.now,
      undefined,
      () => undefined,
    );
    t.after(() => leader.abdicate());
    return { queue, sent, leader };
  };
  const report = (token: string, jobId: string, state: TaskStatus['state'] = 'TASK_RUNNING'): TaskReport => ({
    info: { taskId: token, name: '', executorId: 'e1', resources: { cpus: 0.5, memMb: 256, ports: [] }, images: [{ token, jobId, sourceUrl: 'http://src/x.png', outputName: 'o', attempt: 1 }] },
    status: { taskId: token, executorId: 'e1', state, stage: 'invert', message: '', timestamp: 1, items: [{ token, jobId, state, stage: 'invert', message: '' }] },
  });
  const reconciled = (epoch: number, tasks: TaskReport[]): ExecutorEvent => ({ executorId: 'e1', sentAtMs: 0, bootId: 'b', kind: 'reconciled', epoch, resources: { cpus: 2, memMb: 4096, ports: [] }, tasks });

  it('adopts a run whose job lock expired while no leader kept it, instead of requeueing its job', async (t) => {
    const { queue, leader } = setup(t);
    queue.activate('a', null);
    const started = leader.start();
    await new Promise((r) => setTimeout(r, 10));
    await leader.handleEvents([reconciled(5, [report('tok-a', 'a')])]);
    await started;
    assert.deepEqual(queue.calls, [], 'not requeued');
    assert.equal(queue.locks.get('a'), 'tok-a', 'its lock retaken under its own token');
    assert.equal(leader.ledger.byToken('tok-a')?.task.adopted, true);
  });

  it('an answer written for an earlier leader does not complete this leader\'s reconciliation', async (t) => {
    const { queue, leader } = setup(t);
    queue.activate('b', 'tok-b');
    const started = leader.start();
    await new Promise((r) => setTimeout(r, 10));
    await leader.handleEvents([reconciled(4, [])]);
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(leader.reconciler.done, false, 'still waiting for an answer to epoch 5');
    await leader.handleEvents([reconciled(5, [report('tok-b', 'b')])]);
    await started;
    assert.deepEqual(queue.calls, []);
  });

  it('a terminal update and its re-sent copy in one batch count once', async (t) => {
    const { queue, leader } = setup(t);
    await leader.start();
    for (const id of ['1', '2']) queue.add(id, `http://down.example/${id}.png`);
    await leader.handleEvents([{ executorId: 'e1', sentAtMs: 0, bootId: 'b', kind: 'offer', offer: { id: 'o', executorId: 'e1', hostname: 'h', resources: { cpus: 1, memMb: 4096, ports: [] }, ttlMs: 1, advertiseHost: '' } }]);
    const task = [...leader.ledger.all()][0]!;
    const item = [...task.items.values()][0]!;
    const failed: ExecutorEvent = {
      executorId: 'e1', sentAtMs: 0, bootId: 'b', kind: 'update',
      status: { taskId: task.taskId, executorId: 'e1', state: 'TASK_FAILED', stage: 'download', message: '', timestamp: 1, uuid: 'dup', items: [{ token: item.token, jobId: item.jobId, state: 'TASK_FAILED', stage: 'download', reason: 'DOWNLOAD_CONNECTION', message: 'refused' }] },
    };
    await leader.handleEvents([failed, failed]);
    assert.deepEqual(queue.calls, [`retry ${item.jobId} DOWNLOAD_CONNECTION`]);
    assert.equal(leader.circuits.view(Date.now())[0]?.failures, 1, 'one failure, not two');
  });
});
