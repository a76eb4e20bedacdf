/**
 * The one codec both sides import: domain objects <-> binary protobuf (messages.proto).
 * Decoding validates everything the receiver relies on; anything else is a DecodeError,
 * which receivers log and acknowledge away.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { isErrorCode, type ErrorCode } from '../common/errors.js';
import { normalizePorts } from './resources.js';
import {
  STAGES,
  TASK_STATES,
  type ExecutorEvent,
  type Offer,
  type Resources,
  type SchedulerCall,
  type Stage,
  type TaskInfo,
  type TaskResult,
  type TaskState,
  type TaskStatus,
} from './types.js';

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  readonly code = 'MALFORMED_MESSAGE';
}

/** Finds messages.proto next to the sources whether running from protocol/ or dist/protocol/. */
function protoSource(): string {
  for (const rel of ['./messages.proto', '../../protocol/messages.proto']) {
    try {
      return readFileSync(fileURLToPath(new URL(rel, import.meta.url)), 'utf8');
    } catch {
      // try the next location
    }
  }
  throw new Error('protocol/messages.proto not found next to the codec');
}

const root = protobuf.parse(protoSource()).root;
const EventType = root.lookupType('offerinvert.v1.Event');
const CallType = root.lookupType('offerinvert.v1.Call');
const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, oneofs: true };

type Wire = Record<string, unknown>;

// ---------- reading decoded objects without trusting them ----------

function fail(path: string, what: string): never {
  throw new DecodeError(`${path}: ${what}`);
}
function obj(v: unknown, path: string): Wire {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(path, 'missing');
  return v as Wire;
}
function optObj(v: unknown): Wire | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Wire) : undefined;
}
function str(v: unknown, path: string, required = false): string {
  if (typeof v !== 'string') fail(path, 'not a string');
  if (required && v === '') fail(path, 'empty');
  return v;
}
function num(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, 'not a number');
  return v;
}
function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) fail(path, 'not a list');
  return v;
}
function id(v: unknown, path: string): string {
  return str(obj(v, path).value, `${path}.value`, true);
}
function hex(v: unknown): string | undefined {
  return v instanceof Uint8Array && v.length > 0 ? Buffer.from(v).toString('hex') : undefined;
}

// ---------- resources ----------

function resourcesToWire(r: Resources): Wire[] {
  const list: Wire[] = [
    { name: 'cpus', type: 'SCALAR', scalar: { value: r.cpus } },
    { name: 'mem', type: 'SCALAR', scalar: { value: r.memMb } },
  ];
  if (r.ports.length > 0) list.push({ name: 'ports', type: 'RANGES', ranges: { range: r.ports } });
  return list;
}

function resourcesFromWire(v: unknown, path: string): Resources {
  const out: Resources = { cpus: 0, memMb: 0, ports: [] };
  arr(v, path).forEach((item, i) => {
    const r = obj(item, `${path}[${i}]`);
    const name = str(r.name, `${path}[${i}].name`);
    if (name === 'cpus' || name === 'mem') {
      const value = num(obj(r.scalar, `${path}[${i}].scalar`).value, `${path}[${i}].scalar.value`);
      if (value < 0) fail(`${path}[${i}]`, `negative ${name}`);
      if (name === 'cpus') out.cpus += value;
      else out.memMb += value;
    } else if (name === 'ports') {
      const ranges = arr(obj(r.ranges, `${path}[${i}].ranges`).range, `${path}[${i}].ranges.range`);
      for (const [j, raw] of ranges.entries()) {
        const range = obj(raw, `${path}[${i}].ranges.range[${j}]`);
        const begin = num(range.begin, 'range.begin');
        const end = num(range.end, 'range.end');
        if (begin > end || end > 65535) fail(`${path}[${i}].ranges.range[${j}]`, `bad port range ${begin}-${end}`);
        out.ports.push({ begin, end });
      }
    }
    // Unknown resource names are ignored, as a Mesos framework ignores resources it does not use.
  });
  out.ports = normalizePorts(out.ports);
  return out;
}

// ---------- enums ----------

function stateFromWire(v: unknown, path: string): TaskState {
  if (typeof v === 'string' && (TASK_STATES as readonly string[]).includes(v)) return v as TaskState;
  fail(path, `unknown task state ${String(v)}`);
}
function stageToWire(stage: Stage): string {
  return `STAGE_${stage.toUpperCase()}`;
}
function stageFromWire(v: unknown): Stage {
  const name = typeof v === 'string' ? v.replace(/^STAGE_/, '').toLowerCase() : '';
  return (STAGES as readonly string[]).includes(name) ? (name as Stage) : 'none';
}
function reasonToWire(code: ErrorCode | undefined): string {
  return code === undefined ? 'REASON_NONE' : `REASON_${code}`;
}
function reasonFromWire(v: unknown): ErrorCode | undefined {
  if (typeof v !== 'string' || v === 'REASON_NONE') return undefined;
  const code = v.replace(/^REASON_/, '');
  return isErrorCode(code) ? code : 'INTERNAL';
}

// ---------- task messages ----------

function taskInfoToWire(t: TaskInfo): Wire {
  return {
    name: t.name,
    taskId: { value: t.taskId },
    executorId: { value: t.executorId },
    resources: resourcesToWire(t.resources),
    jobId: t.jobId,
    sourceUrl: t.sourceUrl,
    upload: t.upload,
    attempt: t.attempt,
  };
}

function taskInfoFromWire(v: unknown, path: string): TaskInfo {
  const t = obj(v, path);
  const upload = obj(t.upload, `${path}.upload`);
  return {
    name: str(t.name, `${path}.name`),
    taskId: id(t.taskId, `${path}.task_id`),
    executorId: id(t.executorId, `${path}.executor_id`),
    resources: resourcesFromWire(t.resources, `${path}.resources`),
    jobId: str(t.jobId, `${path}.job_id`, true),
    sourceUrl: str(t.sourceUrl, `${path}.source_url`, true),
    upload: { url: str(upload.url, `${path}.upload.url`, true), name: str(upload.name, `${path}.upload.name`, true) },
    attempt: num(t.attempt, `${path}.attempt`),
  };
}

function resultFromWire(v: unknown): TaskResult | undefined {
  const r = optObj(v);
  if (!r || r.name === '') return undefined;
  const n = (key: string) => num(r[key], `status.result.${key}`);
  return {
    name: str(r.name, 'status.result.name'),
    url: str(r.url, 'status.result.url'),
    bytes: n('bytes'),
    width: n('width'),
    height: n('height'),
    format: str(r.format, 'status.result.format'),
    durationMs: n('durationMs'),
    downloadMs: n('downloadMs'),
    invertMs: n('invertMs'),
    uploadMs: n('uploadMs'),
    sourceBytes: n('sourceBytes'),
  };
}

function statusToWire(s: TaskStatus): Wire {
  return {
    taskId: { value: s.taskId },
    jobId: s.jobId,
    executorId: { value: s.executorId },
    state: s.state,
    stage: stageToWire(s.stage),
    reason: reasonToWire(s.reason),
    retryable: s.retryable,
    message: s.message,
    result: s.result,
    timestamp: s.timestamp,
    uuid: s.uuid === undefined ? undefined : Buffer.from(s.uuid, 'hex'),
  };
}

function statusFromWire(v: unknown): TaskStatus {
  const s = obj(v, 'status');
  const status: TaskStatus = {
    taskId: id(s.taskId, 'status.task_id'),
    jobId: str(s.jobId, 'status.job_id'),
    executorId: id(s.executorId, 'status.executor_id'),
    state: stateFromWire(s.state, 'status.state'),
    stage: stageFromWire(s.stage),
    retryable: s.retryable === true,
    message: str(s.message, 'status.message'),
    timestamp: num(s.timestamp, 'status.timestamp'),
  };
  const reason = reasonFromWire(s.reason);
  if (reason !== undefined) status.reason = reason;
  const result = resultFromWire(s.result);
  if (result !== undefined) status.result = result;
  const uuid = hex(s.uuid);
  if (uuid !== undefined) status.uuid = uuid;
  return status;
}

function offerFromWire(v: unknown): Offer {
  const o = obj(v, 'offer');
  return {
    id: id(o.id, 'offer.id'),
    executorId: id(o.executorId, 'offer.executor_id'),
    hostname: str(o.hostname, 'offer.hostname'),
    resources: resourcesFromWire(o.resources, 'offer.resources'),
    expiresAtMs: num(o.expiresAtMs, 'offer.expires_at_ms'),
  };
}

// ---------- envelopes ----------

function encode(type: protobuf.Type, value: Wire): Buffer {
  const message = type.fromObject(value);
  return Buffer.from(type.encode(message).finish());
}

function decode(type: protobuf.Type, bytes: Uint8Array): Wire {
  try {
    return type.toObject(type.decode(bytes), TO_OBJECT) as Wire;
  } catch (err) {
    throw new DecodeError(`not a valid ${type.name} message: ${(err as Error).message}`);
  }
}

export function encodeEvent(e: ExecutorEvent): Buffer {
  const base: Wire = { executorId: { value: e.executorId }, sentAtMs: e.sentAtMs };
  switch (e.kind) {
    case 'register':
      return encode(EventType, {
        ...base,
        register: {
          hostname: e.hostname,
          resources: resourcesToWire(e.resources),
          running: e.running.map((value) => ({ value })),
          pid: e.pid,
        },
      });
    case 'heartbeat':
      return encode(EventType, { ...base, heartbeat: { running: e.running, tasks: e.tasks.map((value) => ({ value })) } });
    case 'offer':
      return encode(EventType, {
        ...base,
        offer: {
          id: { value: e.offer.id },
          executorId: { value: e.offer.executorId },
          hostname: e.offer.hostname,
          resources: resourcesToWire(e.offer.resources),
          expiresAtMs: e.offer.expiresAtMs,
        },
      });
    case 'rescind':
      return encode(EventType, { ...base, rescind: { offerId: { value: e.offerId } } });
    case 'update':
      return encode(EventType, { ...base, update: statusToWire(e.status) });
    case 'unregister':
      return encode(EventType, { ...base, unregister: { reason: e.reason } });
  }
}

export function decodeEvent(bytes: Uint8Array): ExecutorEvent {
  const w = decode(EventType, bytes);
  const executorId = id(w.executorId, 'event.executor_id');
  const sentAtMs = num(w.sentAtMs, 'event.sent_at_ms');
  const base = { executorId, sentAtMs };
  switch (w.event) {
    case 'register': {
      const r = obj(w.register, 'register');
      return {
        ...base,
        kind: 'register',
        hostname: str(r.hostname, 'register.hostname'),
        resources: resourcesFromWire(r.resources, 'register.resources'),
        running: arr(r.running, 'register.running').map((t, i) => id(t, `register.running[${i}]`)),
        pid: num(r.pid, 'register.pid'),
      };
    }
    case 'heartbeat': {
      const h = obj(w.heartbeat, 'heartbeat');
      return {
        ...base,
        kind: 'heartbeat',
        running: num(h.running, 'heartbeat.running'),
        tasks: arr(h.tasks, 'heartbeat.tasks').map((t, i) => id(t, `heartbeat.tasks[${i}]`)),
      };
    }
    case 'offer': {
      const offer = offerFromWire(w.offer);
      if (offer.executorId !== executorId) fail('offer.executor_id', 'differs from the sender');
      return { ...base, kind: 'offer', offer };
    }
    case 'rescind':
      return { ...base, kind: 'rescind', offerId: id(obj(w.rescind, 'rescind').offerId, 'rescind.offer_id') };
    case 'update':
      return { ...base, kind: 'update', status: statusFromWire(w.update) };
    case 'unregister':
      return { ...base, kind: 'unregister', reason: str(obj(w.unregister, 'unregister').reason, 'unregister.reason') };
    default:
      fail('event', 'no event set');
  }
}

export function encodeCall(c: SchedulerCall): Buffer {
  const base: Wire = { sentAtMs: Date.now() };
  switch (c.kind) {
    case 'launch':
      return encode(CallType, { ...base, launch: { offerId: { value: c.offerId }, taskInfos: c.tasks.map(taskInfoToWire) } });
    case 'decline':
      return encode(CallType, {
        ...base,
        decline: { offerId: { value: c.offerId }, filters: { refuseSeconds: c.refuseSeconds } },
      });
    case 'revive':
      return encode(CallType, { ...base, revive: {} });
    case 'kill':
      return encode(CallType, { ...base, kill: { taskId: { value: c.taskId } } });
    case 'acknowledge':
      return encode(CallType, {
        ...base,
        acknowledge: { taskId: { value: c.taskId }, uuid: Buffer.from(c.uuid, 'hex') },
      });
  }
}

export function decodeCall(bytes: Uint8Array): SchedulerCall {
  const w = decode(CallType, bytes);
  switch (w.call) {
    case 'launch': {
      const l = obj(w.launch, 'launch');
      return {
        kind: 'launch',
        offerId: id(l.offerId, 'launch.offer_id'),
        tasks: arr(l.taskInfos, 'launch.task_infos').map((t, i) => taskInfoFromWire(t, `launch.task_infos[${i}]`)),
      };
    }
    case 'decline': {
      const d = obj(w.decline, 'decline');
      const refuseSeconds = optObj(d.filters)?.refuseSeconds ?? 0;
      return { kind: 'decline', offerId: id(d.offerId, 'decline.offer_id'), refuseSeconds: num(refuseSeconds, 'filters') };
    }
    case 'revive':
      return { kind: 'revive' };
    case 'kill':
      return { kind: 'kill', taskId: id(obj(w.kill, 'kill').taskId, 'kill.task_id') };
    case 'acknowledge': {
      const a = obj(w.acknowledge, 'acknowledge');
      const uuid = hex(a.uuid);
      if (uuid === undefined) fail('acknowledge.uuid', 'missing');
      return { kind: 'acknowledge', taskId: id(a.taskId, 'acknowledge.task_id'), uuid };
    }
    default:
      fail('call', 'no call set');
  }
}
