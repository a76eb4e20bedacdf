/** IPC messages between the benchmark harness and the transport-floor process (d). */
import type { ImageTaskInput } from './image-task.js';

/** Harness -> floor: process these, `concurrency` at a time (set by CONCURRENCY), and answer with a FloorResult. */
export interface FloorRun {
  type: 'run';
  jobs: ImageTaskInput[];
}

export interface FloorResult {
  type: 'result';
  /** One per image that succeeded: download + invert + upload. */
  latenciesMs: number[];
  /** One line per image that failed. */
  failed: string[];
}

export function isFloorRun(message: unknown): message is FloorRun {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'run' && Array.isArray((message as { jobs?: unknown }).jobs);
}

export function isFloorResult(message: unknown): message is FloorResult {
  const m = message as Partial<FloorResult> | null;
  return typeof m === 'object' && m !== null && m.type === 'result' && Array.isArray(m.latenciesMs) && Array.isArray(m.failed);
}
