/**
 * One error class with a stable `code`. What a failure means for its job is a property of the
 * code, decided in this table only, so the executor, the wire and the scheduler never disagree:
 *
 * - `retry: 'never'`   — fail the job for good (a retry cannot help);
 * - `retry: 'attempt'` — retry with backoff, spending one of the job's attempts;
 * - `retry: 'free'`    — the work never really started: back to the queue, no attempt spent.
 *
 * `hostFault` marks failures that say the source host is unwell (not this one URL); they feed
 * that host's circuit breaker.
 */
export type RetryKind = 'never' | 'attempt' | 'free';

interface CodeInfo {
  retry: RetryKind;
  hostFault?: true;
  summary: string;
}

export const ERROR_CODES = {
  URL_INVALID: { retry: 'never', summary: 'the URL is not a valid http(s) URL' },
  URL_FORBIDDEN: { retry: 'never', summary: 'the URL points at a forbidden (private, local or special-purpose) address' },
  DOWNLOAD_NOT_FOUND: { retry: 'never', summary: 'the source answered 404/410' },
  DOWNLOAD_HTTP_4XX: { retry: 'never', summary: 'the source refused the request (4xx)' },
  DOWNLOAD_HTTP_5XX: { retry: 'attempt', hostFault: true, summary: 'the source failed (5xx, 408 or 429)' },
  DOWNLOAD_TIMEOUT: { retry: 'attempt', hostFault: true, summary: 'the download timed out' },
  DOWNLOAD_CONNECTION: { retry: 'attempt', hostFault: true, summary: 'the source could not be reached' },
  DOWNLOAD_HOST_UNKNOWN: { retry: 'never', summary: 'the source host name does not exist' },
  DOWNLOAD_BAD_RESPONSE: { retry: 'never', summary: 'the source sent a malformed HTTP response' },
  DOWNLOAD_TOO_SLOW: { retry: 'attempt', summary: 'the source sent data slower than the minimum transfer rate' },
  DOWNLOAD_TOO_LARGE: { retry: 'never', summary: 'the source is larger than the byte limit' },
  IMAGE_UNDECODABLE: { retry: 'never', summary: 'the bytes are not a decodable image' },
  IMAGE_TOO_LARGE: { retry: 'never', summary: 'the image has more pixels than the limit' },
  IMAGE_UNSUPPORTED_FORMAT: { retry: 'never', summary: 'the image format is not supported' },
  UPLOAD_REJECTED: { retry: 'never', summary: 'the fileserver rejected the upload (4xx)' },
  UPLOAD_FAILED: { retry: 'attempt', summary: 'the upload failed (5xx, timeout or connection)' },
  INVALID_OFFER: { retry: 'free', summary: 'the task was launched against an offer the executor no longer holds' },
  EXECUTOR_LOST: { retry: 'attempt', summary: 'the executor stopped heartbeating' },
  EXECUTOR_SHUTDOWN: { retry: 'free', summary: 'the executor is shutting down' },
  TASK_KILLED: { retry: 'attempt', summary: 'the task was killed' },
  CANCELLED: { retry: 'never', summary: 'a user cancelled the job' },
  RESOURCES_EXCEEDED: { retry: 'free', summary: 'the task needs more memory than it was given; it runs again with more' },
  SERVICE_PORT_IN_USE: { retry: 'free', summary: 'the port given to a service instance was taken' },
  SERVICE_UNHEALTHY: { retry: 'attempt', summary: 'a service instance failed its health check' },
  INVALID_TASK: { retry: 'never', summary: 'the task description is invalid' },
  INTERNAL: { retry: 'attempt', summary: 'unexpected internal error' },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const ALL_ERROR_CODES = Object.keys(ERROR_CODES) as ErrorCode[];

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CODES, value);
}

export function retryKind(code: ErrorCode): RetryKind {
  return ERROR_CODES[code].retry;
}

/** Whether another run can help (with or without spending an attempt). */
export function isRetryable(code: ErrorCode): boolean {
  return ERROR_CODES[code].retry !== 'never';
}

export function isHostFault(code: ErrorCode): boolean {
  return (ERROR_CODES[code] as CodeInfo).hostFault === true;
}

export class PipelineError extends Error {
  override readonly name = 'PipelineError';
  readonly code: ErrorCode;
  /** From a Retry-After header: the source asked us to wait this long before trying again. */
  readonly retryAfterMs: number | undefined;
  /** RESOURCES_EXCEEDED: the memory the work needs. */
  readonly needMemMb: number | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryAfterMs?: number; needMemMb?: number }) {
    super(message, options);
    this.code = code;
    this.retryAfterMs = options?.retryAfterMs;
    this.needMemMb = options?.needMemMb;
  }

  get retryable(): boolean {
    return isRetryable(this.code);
  }
}

/** Wraps anything thrown into a PipelineError, keeping the original as `cause`. */
export function toPipelineError(err: unknown, fallback: ErrorCode = 'INTERNAL'): PipelineError {
  if (err instanceof PipelineError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new PipelineError(fallback, message, { cause: err });
}

export function describeError(err: unknown): string {
  if (err instanceof PipelineError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
