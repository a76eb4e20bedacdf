/**
 * Domain shapes of the wire messages (protocol/messages.proto), as the rest of the code sees them.
 * The codec is the only place that converts between these and protobuf.
 */
import type { ErrorCode } from '../common/errors.js';
import type { TaskResult } from '../common/task-result.js';

export type { TaskResult } from '../common/task-result.js';

import type { Resources } from '../common/resource-shape.js';

export type { PortRange, Resources } from '../common/resource-shape.js';

export interface ProtocolVersion {
  major: number;
  minor: number;
}

export const TASK_STATES = [
  'TASK_STAGING',
  'TASK_STARTING',
  'TASK_RUNNING',
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_LOST',
  'TASK_ERROR',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_LOST',
  'TASK_ERROR',
]);

export function isTerminal(state: TaskState): boolean {
  return TERMINAL_STATES.has(state);
}

export const STAGES = ['none', 'download', 'invert', 'upload', 'done', 'serve', 'queued'] as const;
export type Stage = (typeof STAGES)[number];

/** One image of an image task: its own BullMQ job and lock token. */
export interface ImageItem {
  token: string;
  jobId: string;
  sourceUrl: string;
  outputName: string;
  attempt: number;
  /** W3C traceparent of the placement, when the scheduler traces. */
  traceparent?: string;
}

/** A long-running web server instance. */
export interface ServiceSpec {
  name: string;
  instance: number;
  body: Buffer;
  contentType: string;
  healthPath: string;
  port: number;
  /** Of the definition it serves (common/service-def.ts `serviceVersion`). */
  version: string;
}

export interface TaskInfo {
  taskId: string;
  name: string;
  executorId: string;
  resources: Resources;
  /** Image work; empty for a service task. */
  images: ImageItem[];
  service?: ServiceSpec;
}

export interface ItemStatus {
  token: string;
  jobId: string;
  state: TaskState;
  stage: Stage;
  reason?: ErrorCode;
  message: string;
  result?: TaskResult;
  retryAfterMs?: number;
  /** With RESOURCES_EXCEEDED: the memory this image needs. */
  memMbNeeded?: number;
}

export interface TaskStatus {
  taskId: string;
  executorId: string;
  state: TaskState;
  stage: Stage;
  reason?: ErrorCode;
  message: string;
  timestamp: number; // seconds since epoch
  uuid?: string; // hex; present when the sender wants an Acknowledge
  healthy?: boolean;
  items: ItemStatus[];
}

export interface Offer {
  id: string;
  executorId: string;
  hostname: string;
  resources: Resources;
  ttlMs: number;
  advertiseHost: string;
}

export interface TaskReport {
  info: TaskInfo;
  status: TaskStatus;
}

interface EventBase {
  executorId: string;
  sentAtMs: number;
  bootId: string;
}

export type ExecutorEvent = EventBase &
  (
    | { kind: 'register'; hostname: string; resources: Resources; running: string[]; pid: number; advertiseHost: string }
    | {
        kind: 'heartbeat';
        running: number;
        tasks: string[];
        seq: number;
        resources: Resources;
        used: Resources;
        inboxHealthy: boolean;
        draining: boolean;
        /** Stream entry id of the last inbox entry acted on ('' before the first). */
        inboxPosition: string;
      }
    | { kind: 'offer'; offer: Offer }
    | { kind: 'rescind'; offerId: string }
    | { kind: 'update'; status: TaskStatus }
    | { kind: 'unregister'; reason: string }
    | { kind: 'reconciled'; epoch: number; tasks: TaskReport[]; resources: Resources }
  );

export type ExecutorEventKind = ExecutorEvent['kind'];

export type SchedulerCall =
  | { kind: 'launch'; offerId: string; tasks: TaskInfo[] }
  | { kind: 'decline'; offerId: string; refuseSeconds: number }
  | { kind: 'revive' }
  | { kind: 'kill'; taskId: string; reason: ErrorCode }
  | { kind: 'acknowledge'; taskId: string; uuid: string }
  | { kind: 'reconcile'; taskIds: string[] };

/** What travels with every Call: who sends it and under which leadership term. */
export interface CallEnvelope {
  epoch: number;
  schedulerId: string;
  sentAtMs: number;
  version: ProtocolVersion;
}

export interface ReceivedCall {
  envelope: CallEnvelope;
  call: SchedulerCall;
}
