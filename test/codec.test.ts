import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeCall, decodeEvent, DecodeError, encodeCall, encodeEvent } from '../protocol/codec.js';
import type { ExecutorEvent, SchedulerCall, TaskInfo } from '../protocol/types.js';

const info: TaskInfo = {
  taskId: 'task-1',
  name: 'invert job 7',
  executorId: 'exec-a',
  jobId: '7',
  sourceUrl: 'http://127.0.0.1:8080/images/cat.png',
  upload: { url: 'http://127.0.0.1:8080/upload', name: 'cat-0123456789ab' },
  resources: { cpus: 0.5, memMb: 256, ports: [{ begin: 31000, end: 31000 }] },
  attempt: 2,
};

describe('codec round trips', () => {
  const events: ExecutorEvent[] = [
    { executorId: 'exec-a', sentAtMs: 1700000000123, kind: 'register', hostname: 'h', resources: { cpus: 2, memMb: 2048, ports: [{ begin: 31000, end: 31099 }] }, running: ['t1', 't2'], pid: 42 },
    { executorId: 'exec-a', sentAtMs: 1, kind: 'heartbeat', running: 2, tasks: ['t1', 't2', 't3'] },
    { executorId: 'exec-a', sentAtMs: 1, kind: 'offer', offer: { id: 'o1', executorId: 'exec-a', hostname: 'h', resources: { cpus: 1.5, memMb: 512, ports: [] }, expiresAtMs: 1700000009999 } },
    { executorId: 'exec-a', sentAtMs: 1, kind: 'rescind', offerId: 'o1' },
    { executorId: 'exec-a', sentAtMs: 1, kind: 'unregister', reason: 'shutdown' },
    {
      executorId: 'exec-a', sentAtMs: 1, kind: 'update',
      status: { taskId: 't1', jobId: '7', executorId: 'exec-a', state: 'TASK_FAILED', stage: 'download', reason: 'DOWNLOAD_NOT_FOUND', retryable: false, message: 'HTTP 404', timestamp: 1700000000.5, uuid: '00112233445566778899aabbccddeeff' },
    },
    {
      executorId: 'exec-a', sentAtMs: 1, kind: 'update',
      status: {
        taskId: 't1', jobId: '7', executorId: 'exec-a', state: 'TASK_FINISHED', stage: 'done', retryable: false, message: 'ok', timestamp: 2,
        result: { name: 'cat.png', url: 'http://f/files/cat.png', bytes: 1234, width: 640, height: 480, format: 'png', durationMs: 40, downloadMs: 5, invertMs: 30, uploadMs: 5, sourceBytes: 1200 },
      },
    },
  ];
  for (const event of events) {
    it(`event ${event.kind}${event.kind === 'update' ? ' ' + event.status.state : ''}`, () => {
      assert.deepEqual(decodeEvent(encodeEvent(event)), event);
    });
  }

  const calls: SchedulerCall[] = [
    { kind: 'launch', offerId: 'o1', tasks: [info, { ...info, taskId: 'task-2', resources: { cpus: 1, memMb: 1, ports: [] } }] },
    { kind: 'decline', offerId: 'o1', refuseSeconds: 2.5 },
    { kind: 'decline', offerId: 'o2', refuseSeconds: 0 },
    { kind: 'revive' },
    { kind: 'kill', taskId: 'task-1' },
    { kind: 'acknowledge', taskId: 'task-1', uuid: '00112233445566778899aabbccddeeff' },
  ];
  for (const call of calls) {
    it(`call ${call.kind}`, () => assert.deepEqual(decodeCall(encodeCall(call)), call));
  }
});

describe('codec rejects malformed messages with DecodeError', () => {
  const bad: [string, Buffer][] = [
    ['random bytes', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])],
    ['text', Buffer.from('{"kind":"offer"}')],
    ['truncated message', encodeEvent({ executorId: 'e', sentAtMs: 1, kind: 'heartbeat', running: 1, tasks: ['t1'] }).subarray(0, 3)],
    ['empty envelope (no event set)', Buffer.alloc(0)],
    ['an offer from another executor', encodeEvent({ executorId: 'e1', sentAtMs: 1, kind: 'offer', offer: { id: 'o', executorId: 'e2', hostname: 'h', resources: { cpus: 1, memMb: 1, ports: [] }, expiresAtMs: 1 } })],
  ];
  for (const [name, bytes] of bad) {
    it(name, () => assert.throws(() => decodeEvent(bytes), DecodeError));
  }
  it('a call without a call set', () => assert.throws(() => decodeCall(Buffer.alloc(0)), DecodeError));
  it('a launch whose task has no source URL', () => {
    const bytes = encodeCall({ kind: 'launch', offerId: 'o', tasks: [{ ...info, sourceUrl: '' }] });
    assert.throws(() => decodeCall(bytes), /source_url/);
  });
});
