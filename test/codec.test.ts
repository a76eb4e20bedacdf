import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { ALL_ERROR_CODES } from '../common/errors.js';
import { decodeCall, decodeEvent, DecodeError, encodeCall, encodeEvent, ProtocolVersionError, reasonName, WIRE_REASONS } from '../protocol/codec.js';
import type { ExecutorEvent, SchedulerCall, TaskInfo, TaskStatus } from '../protocol/types.js';

const info: TaskInfo = {
  taskId: 'task-1',
  name: 'invert job 7',
  executorId: 'exec-a',
  resources: { cpus: 0.5, memMb: 256, ports: [{ begin: 31000, end: 31000 }] },
  images: [
    { token: 'task-1', jobId: '7', sourceUrl: 'http://127.0.0.1:8080/images/cat.png', outputName: 'cat-0123456789ab', attempt: 2 },
    {
      token: 'tok-2',
      jobId: '8',
      sourceUrl: 'http://127.0.0.1:8080/images/dog.png',
      outputName: 'dog-0123456789ab',
      attempt: 1,
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    },
  ],
};
const serviceInfo: TaskInfo = {
  taskId: 'svc-1',
  name: 'service hello/0',
  executorId: 'exec-a',
  resources: { cpus: 0.1, memMb: 32, ports: [{ begin: 31005, end: 31005 }] },
  images: [],
  service: { name: 'hello', instance: 0, body: Buffer.from('Hello from Server'), contentType: 'text/plain; charset=utf-8', healthPath: '/healthz', port: 31005, version: 'v1' },
};
const result = { name: 'cat.png', url: 'http://f/files/cat.png', bytes: 1234, width: 640, height: 480, format: 'png', durationMs: 40, downloadMs: 5, invertMs: 30, uploadMs: 5, sourceBytes: 1200 };
const finished: TaskStatus = {
  taskId: 'task-1', executorId: 'exec-a', state: 'TASK_FAILED', stage: 'done', message: '', timestamp: 2, uuid: '00112233445566778899aabbccddeeff',
  items: [
    { token: 'task-1', jobId: '7', state: 'TASK_FINISHED', stage: 'done', message: 'ok', result },
    { token: 'tok-2', jobId: '8', state: 'TASK_FAILED', stage: 'download', reason: 'DOWNLOAD_HTTP_5XX', message: '503', retryAfterMs: 7000 },
  ],
};
const base = { executorId: 'exec-a', sentAtMs: 1700000000123, bootId: 'b00t' };
const resources = { cpus: 2, memMb: 2048, ports: [{ begin: 31000, end: 31099 }] };

describe('codec round trips', () => {
  const events: ExecutorEvent[] = [
    { ...base, kind: 'register', hostname: 'h', resources, running: ['t1', 't2'], pid: 42, advertiseHost: '10.0.0.2' },
    { ...base, kind: 'heartbeat', running: 2, tasks: ['t1', 't2', 't3'], seq: 17, resources, used: { cpus: 0.5, memMb: 256, ports: [] }, inboxHealthy: true, draining: false, inboxPosition: '1700000000000-3' },
    { ...base, kind: 'offer', offer: { id: 'o1', executorId: 'exec-a', hostname: 'h', resources: { cpus: 1.5, memMb: 512, ports: [] }, ttlMs: 10_000, advertiseHost: '127.0.0.1' } },
    { ...base, kind: 'rescind', offerId: 'o1' },
    { ...base, kind: 'unregister', reason: 'shutdown' },
    { ...base, kind: 'update', status: { taskId: 't1', executorId: 'exec-a', state: 'TASK_RUNNING', stage: 'invert', message: '', timestamp: 1.5, items: [{ token: 't1', jobId: '7', state: 'TASK_RUNNING', stage: 'invert', message: '' }] } },
    { ...base, kind: 'update', status: finished },
    { ...base, kind: 'update', status: { taskId: 'svc-1', executorId: 'exec-a', state: 'TASK_RUNNING', stage: 'serve', message: 'listening', timestamp: 3, healthy: true, items: [] } },
    { ...base, kind: 'reconciled', epoch: 4, resources, tasks: [{ info, status: finished }, { info: serviceInfo, status: { taskId: 'svc-1', executorId: 'exec-a', state: 'TASK_RUNNING', stage: 'serve', message: '', timestamp: 3, items: [] } }] },
  ];
  for (const event of events) {
    it(`event ${event.kind}${event.kind === 'update' ? ' ' + event.status.state : ''}`, () => {
      assert.deepEqual(decodeEvent(encodeEvent(event)), event);
    });
  }

  const calls: SchedulerCall[] = [
    { kind: 'launch', offerId: 'o1', tasks: [info, serviceInfo] },
    { kind: 'decline', offerId: 'o1', refuseSeconds: 2.5 },
    { kind: 'decline', offerId: 'o2', refuseSeconds: 0 },
    { kind: 'revive' },
    { kind: 'kill', taskId: 'task-1', reason: 'CANCELLED' },
    { kind: 'kill', taskId: 'task-1', reason: 'TASK_KILLED' },
    { kind: 'acknowledge', taskId: 'task-1', uuid: '00112233445566778899aabbccddeeff' },
    { kind: 'reconcile', taskIds: ['task-1', 'tok-2'] },
    { kind: 'reconcile', taskIds: [] },
  ];
  for (const call of calls) {
    it(`call ${call.kind}`, () => {
      const received = decodeCall(encodeCall(call, { epoch: 9, schedulerId: 's-1', sentAtMs: 5 }));
      assert.deepEqual(received.call, call);
      assert.deepEqual(received.envelope, { epoch: 9, schedulerId: 's-1', sentAtMs: 5, version: { major: 2, minor: 1 } });
    });
  }
});

describe('codec rejects malformed messages with DecodeError', () => {
  const heartbeat: ExecutorEvent = { ...base, kind: 'heartbeat', running: 1, tasks: ['t1'], seq: 1, resources, used: resources, inboxHealthy: true, draining: false, inboxPosition: '' };
  const bad: [string, Buffer][] = [
    ['random bytes', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])],
    ['text', Buffer.from('{"kind":"offer"}')],
    ['truncated message', encodeEvent(heartbeat).subarray(0, 3)],
    ['empty envelope', Buffer.alloc(0)],
    ['an offer from another executor', encodeEvent({ ...base, kind: 'offer', offer: { id: 'o', executorId: 'e2', hostname: 'h', resources, ttlMs: 1, advertiseHost: '' } })],
    ['an update claiming another executor', encodeEvent({ ...base, kind: 'update', status: { ...finished, executorId: 'e2' } })],
  ];
  for (const [name, bytes] of bad) {
    it(name, () => assert.throws(() => decodeEvent(bytes), DecodeError));
  }
  it('a call without a call set', () => assert.throws(() => decodeCall(encodeCall({ kind: 'revive' }, { epoch: 1, schedulerId: 's' }).subarray(0, 0)), DecodeError));
  it('a launch whose image has no source URL names the field', () => {
    const bytes = encodeCall({ kind: 'launch', offerId: 'o', tasks: [{ ...info, images: [{ ...info.images[0]!, sourceUrl: '' }] }] }, { epoch: 1, schedulerId: 's' });
    assert.throws(() => decodeCall(bytes), /launch\.task_infos\[0\]\.images\[0\]\.source_url: empty/);
  });
  it('a task with neither images nor a service', () => {
    const bytes = encodeCall({ kind: 'launch', offerId: 'o', tasks: [{ ...info, images: [] }] }, { epoch: 1, schedulerId: 's' });
    assert.throws(() => decodeCall(bytes), /images or a service/);
  });
  it('a service on port 0', () => {
    const bytes = encodeCall({ kind: 'launch', offerId: 'o', tasks: [{ ...serviceInfo, service: { ...serviceInfo.service!, port: 0 } }] }, { epoch: 1, schedulerId: 's' });
    assert.throws(() => decodeCall(bytes), DecodeError);
  });
});

describe('protocol versions', () => {
  const proto = protobuf.parse(readFileSync(fileURLToPath(new URL('../protocol/messages.proto', import.meta.url)), 'utf8')).root;
  const Event = proto.lookupType('offerinvert.v2.Event');
  const Call = proto.lookupType('offerinvert.v2.Call');
  const raw = (type: protobuf.Type, value: object) => Buffer.from(type.encode(type.fromObject(value)).finish());

  it('an event from a peer of another major version is refused, naming the peer and both versions', () => {
    const bytes = raw(Event, { executorId: { value: 'old-exec' }, version: { major: 3, minor: 1 }, heartbeat: {} });
    assert.throws(() => decodeEvent(bytes), (err: unknown) => err instanceof ProtocolVersionError && /old-exec.*v3\.1.*v2\.1/.test(err.message));
  });
  it('a version 1 peer (no version field) is refused', () => {
    const bytes = raw(Event, { executorId: { value: 'v1-exec' }, heartbeat: {} });
    assert.throws(() => decodeEvent(bytes), /v1 \(no version field\)/);
  });
  it('a call from a scheduler of another major version is refused', () => {
    const bytes = raw(Call, { schedulerId: 'future', version: { major: 3 }, revive: {} });
    assert.throws(() => decodeCall(bytes), ProtocolVersionError);
  });
  it('a launch from a 2.0 scheduler (no traceparent field) decodes, without trace context', () => {
    const image = { token: 't', jobId: '7', sourceUrl: 'http://h/a.png', outputName: 'a', attempt: 1 };
    const bytes = raw(Call, {
      schedulerId: 's',
      version: { major: 2, minor: 0 },
      epoch: 1,
      launch: { offerId: { value: 'o' }, taskInfos: [{ name: 'n', taskId: { value: 't' }, executorId: { value: 'e' }, images: [image] }] },
    });
    const call = decodeCall(bytes).call;
    assert.equal(call.kind, 'launch');
    assert.deepEqual(call.kind === 'launch' ? call.tasks[0]?.images : undefined, [image]);
  });
  it('a malformed traceparent is dropped, the task kept', () => {
    for (const traceparent of ['nonsense', '00-00000000000000000000000000000000-00f067aa0ba902b7-01', `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01; x`]) {
      const bytes = encodeCall({ kind: 'launch', offerId: 'o', tasks: [{ ...info, images: [{ ...info.images[0]!, traceparent }] }] }, { epoch: 1, schedulerId: 's' });
      const call = decodeCall(bytes).call;
      assert.equal(call.kind === 'launch' ? call.tasks[0]?.images[0]?.traceparent : 'not a launch', undefined, traceparent);
    }
  });
  it('another minor version is accepted', () => {
    const bytes = raw(Call, { schedulerId: 's', version: { major: 2, minor: 7 }, epoch: 3, revive: {} });
    assert.deepEqual(decodeCall(bytes).call, { kind: 'revive' });
  });
});

describe('reason table', () => {
  it('every error code has a wire reason and every wire reason is an error code', () => {
    const wire = new Set(WIRE_REASONS.filter((r) => r !== 'REASON_NONE'));
    assert.deepEqual([...wire].sort(), ALL_ERROR_CODES.map(reasonName).sort());
  });
});
