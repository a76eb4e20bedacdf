/**
 * The one place where a task's status becomes a BullMQ job outcome. Pure.
 *
 * - non-terminal states -> progress (state + stage)
 * - FINISHED with a result -> completed, the result as return value
 * - FAILED/ERROR/KILLED/LOST that a retry can help -> failed with attempts and backoff applying
 * - permanent failures -> failed with no further attempts
 * - tasks that never started (invalid offer, executor shutting down) -> back to waiting,
 *   without spending an attempt
 */
import type { ErrorCode } from '../common/errors.js';
import type { ImageJobProgress, ImageJobResult } from '../common/queue.js';
import { isTerminal, type TaskStatus } from '../protocol/types.js';

export type JobAction =
  | { kind: 'progress'; progress: ImageJobProgress }
  | { kind: 'complete'; result: ImageJobResult }
  | { kind: 'retry'; reason: ErrorCode; message: string }
  | { kind: 'fail'; reason: ErrorCode; message: string }
  | { kind: 'requeue'; reason: ErrorCode; message: string };

export interface TaskContext {
  taskId: string;
  executorId: string;
  sourceUrl: string;
}

const NOT_STARTED: ReadonlySet<ErrorCode> = new Set(['INVALID_OFFER', 'EXECUTOR_SHUTDOWN']);

export function statusToJobAction(status: TaskStatus, task: TaskContext): JobAction {
  if (!isTerminal(status.state)) {
    const progress: ImageJobProgress = {
      state: status.state,
      stage: status.stage,
      executorId: task.executorId,
      taskId: task.taskId,
    };
    if (status.message) progress.message = status.message;
    return { kind: 'progress', progress };
  }
  if (status.state === 'TASK_FINISHED') {
    if (status.result) {
      return {
        kind: 'complete',
        result: { ...status.result, sourceUrl: task.sourceUrl, executorId: task.executorId, taskId: task.taskId },
      };
    }
    return { kind: 'retry', reason: 'INTERNAL', message: 'INTERNAL: task finished without a result' };
  }
  const reason: ErrorCode =
    status.reason ?? (status.state === 'TASK_LOST' ? 'EXECUTOR_LOST' : status.state === 'TASK_KILLED' ? 'TASK_KILLED' : 'INTERNAL');
  const message = `${reason}: ${status.message || status.state}`;
  if (status.state === 'TASK_LOST' && NOT_STARTED.has(reason)) return { kind: 'requeue', reason, message };
  const retryable = status.state === 'TASK_LOST' || status.state === 'TASK_KILLED' || status.retryable;
  return retryable ? { kind: 'retry', reason, message } : { kind: 'fail', reason, message };
}
