/**
 * The one codec both sides import: domain objects <-> binary protobuf (messages.proto).
 * Decoding validates everything the receiver relies on; anything else is a DecodeError,
 * which receivers log and acknowledge away. A peer of another major protocol version gets a
 * ProtocolVersionError before anything else is read.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { isErrorCode, type ErrorCode } from '../common/errors.js';
import { isTraceparent } from '../common/tracing-config.js';
import { normalizePorts } from './resources.js';
import {
  STAGES,
  TASK_STATES,
  type CallEnvelope,
  type ExecutorEvent,
  type ImageItem,
  type ItemStatus,
  type Offer,
  type ProtocolVersion,
  type ReceivedCall,
  type Resources,
  type SchedulerCall,
  type ServiceSpec,
  type Stage,
  type TaskInfo,
  type TaskReport,
  type TaskResult,
  type TaskState,
  type TaskStatus,
} from './types.js';
import { compatible, PROTOCOL_VERSION, ProtocolVersionError } from './version.js';
import { arr, bool, bytes, DecodeError, fail, hex, id, num, obj, optObj, str, type Wire } from './wire-readers.js';

export { DecodeError } from './wire-readers.js';
export { ProtocolVersionError } from './version.js';

// `npm run build` copies messages.proto next to this file.
const root = protobuf.parse(readFileSync(fileURLToPath(new URL('./messages.proto', import.meta.url)), 'utf8')).root;
const EventType = root.lookupType('offerinvert.v2.Event');
const CallType = root.lookupType('offerinvert.v2.Call');
const ReasonEnum = root.lookupEnum('offerinvert.v2.Reason');
const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, oneofs: true };

/** Reason enum names on the wire, by error code; common/errors.ts and the .proto must agree (tested). */
export function reasonName(code: ErrorCode): string {
  return `REASON_${code}`;
}
export const WIRE_REASONS: readonly string[] = Object.keys(ReasonEnum.values);

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
    const at = `${path}[${i}]`;
    const r = obj(item, at);
    const name = str(r.name, `${at}.name`);
    if (name === 'cpus' || name === 'mem') {
      const value = num(obj(r.scalar, `${at}.scalar`).value, `${at}.scalar.value`);
      if (value < 0) fail(at, `negative ${name}`);
      if (name === 'cpus') out.cpus += value;
      else out.memMb += value;
    } else if (name === 'ports') {
      const ranges = arr(obj(r.ranges, `${at}.ranges`).range, `${at}.ranges.range`);
      for (const [j, raw] of ranges.entries()) {
        const range = obj(raw, `${at}.ranges.range[${j}]`);
        const begin = num(range.begin, 'range.begin');
        const end = num(range.end, 'range.end');
        if (begin > end || end > 65535) fail(`${at}.ranges.range[${j}]`, `bad port range ${begin}-${end}`);
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
  return code === undefined ? 'REASON_NONE' : reasonName(code);
}
function reasonFromWire(v: unknown): ErrorCode | undefined {
  if (typeof v !== 'string' || v === 'REASON_NONE') return undefined;
  const code = v.replace(/^REASON_/, '');
  // A reason added by a newer minor version arrives as its number: treat it as internal.
  return isErrorCode(code) ? code : 'INTERNAL';
}

// ---------- tasks ----------

function imageToWire(i: ImageItem): Wire {
  return { token: i.token, jobId: i.jobId, sourceUrl: i.sourceUrl, outputName: i.outputName, attempt: i.attempt, traceparent: i.traceparent ?? '' };
}

function imageFromWire(v: unknown, path: string): ImageItem {
  const i = obj(v, path);
  const image: ImageItem = {
    token: str(i.token, `${path}.token`, true),
    jobId: str(i.jobId, `${path}.job_id`, true),
    sourceUrl: str(i.sourceUrl, `${path}.source_url`, true),
    outputName: str(i.outputName, `${path}.output_name`, true),
    attempt: num(i.attempt, `${path}.attempt`),
  };
  // Trace context is a hint: a malformed one is dropped, never a reason to refuse the task.
  if (isTraceparent(i.traceparent)) image.traceparent = i.traceparent;
  return image;
}

function serviceFromWire(v: unknown, path: string): ServiceSpec | undefined {
  const s = optObj(v);
  if (!s || s.name === '' || s.name === undefined) return undefined;
  const port = num(s.port, `${path}.port`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`${path}.port`, `not a port: ${port}`);
  return {
    name: str(s.name, `${path}.name`, true),
    instance: num(s.instance, `${path}.instance`),
    body: bytes(s.body),
    contentType: str(s.contentType, `${path}.content_type`),
    healthPath: str(s.healthPath, `${path}.health_path`),
    port,
    version: str(s.version, `${path}.version`),
  };
}

function taskInfoToWire(t: TaskInfo): Wire {
  return {
    name: t.name,
    taskId: { value: t.taskId },
    executorId: { value: t.executorId },
    resources: resourcesToWire(t.resources),
    images: t.images.map(imageToWire),
    service: t.service,
  };
}

function taskInfoFromWire(v: unknown, path: string): TaskInfo {
  const t = obj(v, path);
  const info: TaskInfo = {
    name: str(t.name, `${path}.name`),
    taskId: id(t.taskId, `${path}.task_id`),
    executorId: id(t.executorId, `${path}.executor_id`),
    resources: resourcesFromWire(t.resources, `${path}.resources`),
    images: arr(t.images, `${path}.images`).map((i, n) => imageFromWire(i, `${path}.images[${n}]`)),
  };
  const service = serviceFromWire(t.service, `${path}.service`);
  if (service) info.service = service;
  if (info.images.length === 0 && !service) fail(path, 'a task must carry images or a service');
  if (info.images.length > 0 && service) fail(path, 'a task carries either images or a service, not both');
  return info;
}

function resultFromWire(v: unknown, path: string): TaskResult | undefined {
  const r = optObj(v);
  if (!r || r.name === '' || r.name === undefined) return undefined;
  const n = (key: string) => num(r[key], `${path}.${key}`);
  return {
    name: str(r.name, `${path}.name`),
    url: str(r.url, `${path}.url`),
    bytes: n('bytes'),
    width: n('width'),
    height: n('height'),
    format: str(r.format, `${path}.format`),
    durationMs: n('durationMs'),
    downloadMs: n('downloadMs'),
    invertMs: n('invertMs'),
    uploadMs: n('uploadMs'),
    sourceBytes: n('sourceBytes'),
  };
}

function itemToWire(i: ItemStatus): Wire {
  return {
    token: i.token,
    jobId: i.jobId,
    state: i.state,
    stage: stageToWire(i.stage),
    reason: reasonToWire(i.reason),
    message: i.message,
    result: i.result,
    retryAfterMs: i.retryAfterMs ?? 0,
    memMbNeeded: i.memMbNeeded ?? 0,
  };
}

function itemFromWire(v: unknown, path: string): ItemStatus {
  const i = obj(v, path);
  const item: ItemStatus = {
    token: str(i.token, `${path}.token`, true),
    jobId: str(i.jobId, `${path}.job_id`, true),
    state: stateFromWire(i.state, `${path}.state`),
    stage: stageFromWire(i.stage),
    message: str(i.message, `${path}.message`),
  };
  const reason = reasonFromWire(i.reason);
  if (reason !== undefined) item.reason = reason;
  const result = resultFromWire(i.result, `${path}.result`);
  if (result !== undefined) item.result = result;
  const retryAfterMs = num(i.retryAfterMs, `${path}.retry_after_ms`);
  if (retryAfterMs > 0) item.retryAfterMs = retryAfterMs;
  const memMbNeeded = num(i.memMbNeeded, `${path}.mem_mb_needed`);
  if (memMbNeeded > 0) item.memMbNeeded = memMbNeeded;
  return item;
}

function statusToWire(s: TaskStatus): Wire {
  return {
    taskId: { value: s.taskId },
    executorId: { value: s.executorId },
    state: s.state,
    stage: stageToWire(s.stage),
    reason: reasonToWire(s.reason),
    message: s.message,
    timestamp: s.timestamp,
    uuid: s.uuid === undefined ? undefined : Buffer.from(s.uuid, 'hex'),
    healthy: s.healthy === true,
    items: s.items.map(itemToWire),
  };
}

function statusFromWire(v: unknown, path: string): TaskStatus {
  const s = obj(v, path);
  const status: TaskStatus = {
    taskId: id(s.taskId, `${path}.task_id`),
    executorId: id(s.executorId, `${path}.executor_id`),
    state: stateFromWire(s.state, `${path}.state`),
    stage: stageFromWire(s.stage),
    message: str(s.message, `${path}.message`),
    timestamp: num(s.timestamp, `${path}.timestamp`),
    items: arr(s.items, `${path}.items`).map((i, n) => itemFromWire(i, `${path}.items[${n}]`)),
  };
  const reason = reasonFromWire(s.reason);
  if (reason !== undefined) status.reason = reason;
  const uuid = hex(s.uuid);
  if (uuid !== undefined) status.uuid = uuid;
  if (s.healthy === true) status.healthy = true;
  return status;
}

function offerToWire(o: Offer): Wire {
  return {
    id: { value: o.id },
    executorId: { value: o.executorId },
    hostname: o.hostname,
    resources: resourcesToWire(o.resources),
    ttlMs: o.ttlMs,
    advertiseHost: o.advertiseHost,
  };
}

function offerFromWire(v: unknown): Offer {
  const o = obj(v, 'offer');
  return {
    id: id(o.id, 'offer.id'),
    executorId: id(o.executorId, 'offer.executor_id'),
    hostname: str(o.hostname, 'offer.hostname'),
    resources: resourcesFromWire(o.resources, 'offer.resources'),
    ttlMs: num(o.ttlMs, 'offer.ttl_ms'),
    advertiseHost: str(o.advertiseHost, 'offer.advertise_host'),
  };
}

function reportFromWire(v: unknown, path: string): TaskReport {
  const r = obj(v, path);
  return { info: taskInfoFromWire(r.info, `${path}.info`), status: statusFromWire(r.status, `${path}.status`) };
}

// ---------- envelopes ----------

function encode(type: protobuf.Type, value: Wire): Buffer {
  return Buffer.from(type.encode(type.fromObject(value)).finish());
}

function decode(type: protobuf.Type, data: Uint8Array): Wire {
  try {
    return type.toObject(type.decode(data), TO_OBJECT) as Wire;
  } catch (err) {
    throw new DecodeError(`not a valid ${type.name} message: ${(err as Error).message}`);
  }
}

function versionFromWire(v: unknown): ProtocolVersion {
  const w = optObj(v);
  return { major: typeof w?.major === 'number' ? w.major : 0, minor: typeof w?.minor === 'number' ? w.minor : 0 };
}

const ids = (list: string[]) => list.map((value) => ({ value }));
const idsFrom = (v: unknown, path: string) => arr(v, path).map((t, i) => id(t, `${path}[${i}]`));

function eventBody(e: ExecutorEvent): Wire {
  switch (e.kind) {
    case 'register':
      return {
        register: { hostname: e.hostname, resources: resourcesToWire(e.resources), running: ids(e.running), pid: e.pid, advertiseHost: e.advertiseHost },
      };
    case 'heartbeat':
      return {
        heartbeat: {
          running: e.running,
          tasks: ids(e.tasks),
          seq: e.seq,
          resources: resourcesToWire(e.resources),
          used: resourcesToWire(e.used),
          inboxHealthy: e.inboxHealthy,
          draining: e.draining,
          inboxPosition: e.inboxPosition,
        },
      };
    case 'offer':
      return { offer: offerToWire(e.offer) };
    case 'rescind':
      return { rescind: { offerId: { value: e.offerId } } };
    case 'update':
      return { update: statusToWire(e.status) };
    case 'unregister':
      return { unregister: { reason: e.reason } };
    case 'reconciled':
      return {
        reconciled: {
          epoch: e.epoch,
          tasks: e.tasks.map((t) => ({ info: taskInfoToWire(t.info), status: statusToWire(t.status) })),
          resources: resourcesToWire(e.resources),
        },
      };
  }
}

export function encodeEvent(e: ExecutorEvent): Buffer {
  return encode(EventType, {
    executorId: { value: e.executorId },
    sentAtMs: e.sentAtMs,
    version: PROTOCOL_VERSION,
    bootId: e.bootId,
    ...eventBody(e),
  });
}

export function decodeEvent(data: Uint8Array): ExecutorEvent {
  const w = decode(EventType, data);
  const executorId = id(w.executorId, 'event.executor_id');
  const version = versionFromWire(w.version);
  if (!compatible(version)) throw new ProtocolVersionError(`executor ${executorId}`, version);
  const base = { executorId, sentAtMs: num(w.sentAtMs, 'event.sent_at_ms'), bootId: str(w.bootId, 'event.boot_id') };
  switch (w.event) {
    case 'register': {
      const r = obj(w.register, 'register');
      return {
        ...base,
        kind: 'register',
        hostname: str(r.hostname, 'register.hostname'),
        resources: resourcesFromWire(r.resources, 'register.resources'),
        running: idsFrom(r.running, 'register.running'),
        pid: num(r.pid, 'register.pid'),
        advertiseHost: str(r.advertiseHost, 'register.advertise_host'),
      };
    }
    case 'heartbeat': {
      const h = obj(w.heartbeat, 'heartbeat');
      return {
        ...base,
        kind: 'heartbeat',
        running: num(h.running, 'heartbeat.running'),
        tasks: idsFrom(h.tasks, 'heartbeat.tasks'),
        seq: num(h.seq, 'heartbeat.seq'),
        resources: resourcesFromWire(h.resources, 'heartbeat.resources'),
        used: resourcesFromWire(h.used, 'heartbeat.used'),
        inboxHealthy: bool(h.inboxHealthy),
        draining: bool(h.draining),
        inboxPosition: str(h.inboxPosition, 'heartbeat.inbox_position'),
      };
    }
    case 'offer': {
      const offer = offerFromWire(w.offer);
      if (offer.executorId !== executorId) fail('offer.executor_id', 'differs from the sender');
      return { ...base, kind: 'offer', offer };
    }
    case 'rescind':
      return { ...base, kind: 'rescind', offerId: id(obj(w.rescind, 'rescind').offerId, 'rescind.offer_id') };
    case 'update': {
      const status = statusFromWire(w.update, 'update');
      if (status.executorId !== executorId) fail('update.executor_id', 'differs from the sender');
      return { ...base, kind: 'update', status };
    }
    case 'unregister':
      return { ...base, kind: 'unregister', reason: str(obj(w.unregister, 'unregister').reason, 'unregister.reason') };
    case 'reconciled': {
      const r = obj(w.reconciled, 'reconciled');
      return {
        ...base,
        kind: 'reconciled',
        epoch: num(r.epoch, 'reconciled.epoch'),
        tasks: arr(r.tasks, 'reconciled.tasks').map((t, i) => reportFromWire(t, `reconciled.tasks[${i}]`)),
        resources: resourcesFromWire(r.resources, 'reconciled.resources'),
      };
    }
    default:
      fail('event', 'no event set');
  }
}

function callBody(c: SchedulerCall): Wire {
  switch (c.kind) {
    case 'launch':
      return { launch: { offerId: { value: c.offerId }, taskInfos: c.tasks.map(taskInfoToWire) } };
    case 'decline':
      return { decline: { offerId: { value: c.offerId }, filters: { refuseSeconds: c.refuseSeconds } } };
    case 'revive':
      return { revive: {} };
    case 'kill':
      return { kill: { taskId: { value: c.taskId }, reason: reasonToWire(c.reason) } };
    case 'acknowledge':
      return { acknowledge: { taskId: { value: c.taskId }, uuid: Buffer.from(c.uuid, 'hex') } };
    case 'reconcile':
      return { reconcile: { taskIds: ids(c.taskIds) } };
  }
}

export function encodeCall(c: SchedulerCall, envelope: Omit<CallEnvelope, 'version' | 'sentAtMs'> & { sentAtMs?: number }): Buffer {
  return encode(CallType, {
    sentAtMs: envelope.sentAtMs ?? Date.now(),
    version: PROTOCOL_VERSION,
    epoch: envelope.epoch,
    schedulerId: envelope.schedulerId,
    ...callBody(c),
  });
}

function callFromWire(w: Wire): SchedulerCall {
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
      return { kind: 'decline', offerId: id(d.offerId, 'decline.offer_id'), refuseSeconds: num(refuseSeconds, 'decline.filters.refuse_seconds') };
    }
    case 'revive':
      return { kind: 'revive' };
    case 'kill': {
      const k = obj(w.kill, 'kill');
      return { kind: 'kill', taskId: id(k.taskId, 'kill.task_id'), reason: reasonFromWire(k.reason) ?? 'TASK_KILLED' };
    }
    case 'acknowledge': {
      const a = obj(w.acknowledge, 'acknowledge');
      const uuid = hex(a.uuid);
      if (uuid === undefined) fail('acknowledge.uuid', 'missing');
      return { kind: 'acknowledge', taskId: id(a.taskId, 'acknowledge.task_id'), uuid };
    }
    case 'reconcile':
      return { kind: 'reconcile', taskIds: idsFrom(obj(w.reconcile, 'reconcile').taskIds, 'reconcile.task_ids') };
    default:
      fail('call', 'no call set');
  }
}

export function decodeCall(data: Uint8Array): ReceivedCall {
  const w = decode(CallType, data);
  const schedulerId = str(w.schedulerId, 'call.scheduler_id');
  const version = versionFromWire(w.version);
  if (!compatible(version)) throw new ProtocolVersionError(`scheduler ${schedulerId || '(unnamed)'}`, version);
  const envelope: CallEnvelope = { epoch: num(w.epoch, 'call.epoch'), schedulerId, sentAtMs: num(w.sentAtMs, 'call.sent_at_ms'), version };
  return { envelope, call: callFromWire(w) };
}
