/**
 * The one place where the outcome of an image run becomes a BullMQ job action. Pure.
 *
 * - non-terminal states -> progress (state + stage)
 * - FINISHED with a result -> completed, the result as return value
 * - otherwise the reason decides, through the table in common/errors.ts: fail for good,
 *   retry spending an attempt (BullMQ's attempts and backoff apply, Retry-After honoured), or
 *   back to the queue without spending one (the work never really started)
 * - a kill a user asked for ends the job as CANCELLED, with no retry
 */
import { retryKind, type ErrorCode } from '../common/errors.js';
import type { ImageJobProgress, ImageJobResult } from '../common/queue.js';
import { isTerminal, type ItemStatus, type TaskState } from '../protocol/types.js';

export type JobAction =
  | { kind: 'progress'; progress: ImageJobProgress }
  | { kind: 'complete'; result: ImageJobResult }
  | { kind: 'retry'; reason: ErrorCode; message: string; retryAfterMs?: number }
  | { kind: 'fail'; reason: ErrorCode; message: string }
  | { kind: 'requeue'; reason: ErrorCode; message: string; memMb?: number }
  | { kind: 'delay'; reason: ErrorCode; message: string; untilMs: number };

/** What an image run reported (or what the scheduler concluded about it): an item status without its ids. */
export type RunOutcome = Omit<ItemStatus, 'token' | 'jobId'>;

export interface RunContext {
  token: string;
  executorId: string;
  sourceUrl: string;
  /** A user asked for this run to be cancelled. */
  cancelled?: boolean;
}

function defaultReason(state: TaskState): ErrorCode {
  if (state === 'TASK_LOST') return 'EXECUTOR_LOST';
  if (state === 'TASK_KILLED') return 'TASK_KILLED';
  return 'INTERNAL';
}

export function statusToJobAction(outcome: RunOutcome, run: RunContext): JobAction {
  if (!isTerminal(outcome.state)) {
    const progress: ImageJobProgress = { state: outcome.state, stage: outcome.stage, executorId: run.executorId, taskId: run.token };
    if (outcome.message) progress.message = outcome.message;
    return { kind: 'progress', progress };
  }
  if (outcome.state === 'TASK_FINISHED') {
    if (outcome.result) {
      return { kind: 'complete', result: { ...outcome.result, sourceUrl: run.sourceUrl, executorId: run.executorId, taskId: run.token } };
    }
    return { kind: 'retry', reason: 'INTERNAL', message: 'INTERNAL: task finished without a result' };
  }
  if (run.cancelled && outcome.state === 'TASK_KILLED') {
    return { kind: 'fail', reason: 'CANCELLED', message: 'CANCELLED: cancelled by a user while it ran' };
  }
  const reason = outcome.reason ?? defaultReason(outcome.state);
  const message = `${reason}: ${outcome.message || outcome.state}`;
  switch (retryKind(reason)) {
    case 'never':
      return { kind: 'fail', reason, message };
    case 'free': {
      const action: JobAction = { kind: 'requeue', reason, message };
      // Mesos-like "resources exceeded, ask again": it runs again with what it said it needs.
      if (reason === 'RESOURCES_EXCEEDED' && outcome.memMbNeeded !== undefined) action.memMb = outcome.memMbNeeded;
      return action;
    }
    case 'attempt': {
      const action: JobAction = { kind: 'retry', reason, message };
      if (outcome.retryAfterMs !== undefined && outcome.retryAfterMs > 0) action.retryAfterMs = outcome.retryAfterMs;
      return action;
    }
  }
}
