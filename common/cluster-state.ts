/**
 * What the leading scheduler publishes about the cluster (key `state`, see common/keys.ts),
 * once a second with a short TTL. `status`, the dashboard and tests read it from any machine;
 * nothing reads it to make decisions.
 */
import type { Resources } from './resource-shape.js';

/** How long the published state lives: no state means no leader published for this long. */
export const STATE_TTL_MS = 10_000;

export interface PublishedRun {
  jobId: string;
  url: string;
  state: string;
  stage: string;
}

export interface PublishedTask {
  taskId: string;
  kind: 'images' | 'service';
  state: string;
  stage: string;
  startedAtMs: number;
  adopted: boolean;
  runs: PublishedRun[];
  service?: { name: string; instance: number; port: number; healthy: boolean | undefined };
}

export interface PublishedExecutor {
  id: string;
  hostname: string;
  advertiseHost: string;
  total: Resources;
  used: Resources;
  running: number;
  declined: boolean;
  draining: boolean;
  inboxHealthy: boolean;
  lost: boolean;
  /** Leader clock: when its heartbeat sequence last moved. */
  lastHeartbeatMs: number;
  tasks: PublishedTask[];
}

export interface PublishedOutcome {
  jobId: string;
  url: string;
  outcome: string;
  reason?: string;
  output?: string;
  attempt: string;
  /** The job will not run again (absent from states published before it was added). */
  final?: boolean;
  atMs: number;
}

export interface ClusterState {
  version: 1;
  publishedAtMs: number;
  leader: { schedulerId: string; epoch: number; sinceMs: number };
  taskDemand: { cpus: number; memMb: number; ports: number };
  /** Set when no live executor could ever fit one image task of `taskDemand`. */
  unplaceable?: string;
  executors: PublishedExecutor[];
  offers: { received: number; accepted: number; declined: number; parkedJobs: number };
  circuits: { host: string; state: string; failures: number; openUntilMs: number }[];
  recent: PublishedOutcome[];
}
