/** The errors the library throws, each with a stable `code`; they use only the public types. */
import type { JobRef, JobResult } from './types.js';

/** waitFor/results gave up: `finished` holds what had finished, `pending` what had not. */
export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
  readonly code = 'TIMEOUT';
  constructor(
    readonly finished: JobResult[],
    readonly pending: JobRef[],
    timeoutMs: number,
  ) {
    super(`${pending.length} of ${finished.length + pending.length} jobs had not finished after ${timeoutMs} ms`);
  }
}

/** The wait's AbortSignal fired; the jobs themselves keep running. */
export class WaitAbortedError extends Error {
  override readonly name = 'WaitAbortedError';
  readonly code = 'ABORTED';
  constructor(
    readonly finished: JobResult[],
    readonly pending: JobRef[],
    options?: { cause?: unknown },
  ) {
    super(`wait aborted with ${pending.length} jobs unfinished`, options);
  }
}

/** Bad options or settings (a REDIS_URL that is not a URL, a queue name with ':'). */
export class ClientConfigError extends Error {
  override readonly name = 'ClientConfigError';
  readonly code = 'CONFIG';
}
