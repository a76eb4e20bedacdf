/**
 * Domain shapes of the wire messages (protocol/messages.proto), as the rest of the code sees them.
 * The codec is the only place that converts between these and protobuf.
 */
import type { ErrorCode } from '../common/errors.js';

export interface PortRange {
  begin: number;
  end: number; // inclusive, as in Mesos
}

export interface Resources {
  cpus: number;
  memMb: number;
  ports: PortRange[];
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

export const STAGES = ['none', 'download', 'invert', 'upload', 'done'] as const;
export type Stage = (typeof STAGES)[number];

export interface UploadTarget {
  url: string;
  name: string;
}

export interface TaskInfo {
  taskId: string;
  name: string;
  executorId: string;
  jobId: string;
  sourceUrl: string;
  upload: UploadTarget;
  resources: Resources;
  attempt: number;
}

export interface TaskResult {
  name: string;
  url: string;
  bytes: number;
  width: number;
  height: number;
  format: string;
  durationMs: number;
  downloadMs: number;
  invertMs: number;
  uploadMs: number;
  sourceBytes: number;
}

export interface TaskStatus {
  taskId: string;
  jobId: string;
  executorId: string;
  state: TaskState;
  stage: Stage;
  reason?: ErrorCode;
  retryable: boolean;
  message: string;
  result?: TaskResult;
  timestamp: number; // seconds since epoch
  uuid?: string; // hex; present when the sender wants an Acknowledge
}

export interface Offer {
  id: string;
  executorId: string;
  hostname: string;
  resources: Resources;
  expiresAtMs: number;
}

interface EventBase {
  executorId: string;
  sentAtMs: number;
}

export type ExecutorEvent = EventBase &
  (
    | { kind: 'register'; hostname: string; resources: Resources; running: string[]; pid: number }
    | { kind: 'heartbeat'; running: number; tasks: string[] }
    | { kind: 'offer'; offer: Offer }
    | { kind: 'rescind'; offerId: string }
    | { kind: 'update'; status: TaskStatus }
    | { kind: 'unregister'; reason: string }
  );

export type SchedulerCall =
  | { kind: 'launch'; offerId: string; tasks: TaskInfo[] }
  | { kind: 'decline'; offerId: string; refuseSeconds: number }
  | { kind: 'revive' }
  | { kind: 'kill'; taskId: string }
  | { kind: 'acknowledge'; taskId: string; uuid: string };
