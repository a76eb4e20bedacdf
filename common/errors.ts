/**
 * One error class with a stable `code`. Whether a retry can help is a property of the code,
 * decided here once, so the executor, the wire and the scheduler never disagree about it.
 */
export const ERROR_CODES = {
  URL_INVALID: { retryable: false, summary: 'the URL is not a valid http(s) URL' },
  URL_FORBIDDEN: { retryable: false, summary: 'the URL points at a forbidden (private or local) address' },
  DOWNLOAD_NOT_FOUND: { retryable: false, summary: 'the source answered 404/410' },
  DOWNLOAD_HTTP_4XX: { retryable: false, summary: 'the source refused the request (4xx)' },
  DOWNLOAD_HTTP_5XX: { retryable: true, summary: 'the source failed (5xx, 408 or 429)' },
  DOWNLOAD_TIMEOUT: { retryable: true, summary: 'the download timed out' },
  DOWNLOAD_CONNECTION: { retryable: true, summary: 'the source could not be reached' },
  DOWNLOAD_TOO_LARGE: { retryable: false, summary: 'the source is larger than the byte limit' },
  IMAGE_UNDECODABLE: { retryable: false, summary: 'the bytes are not a decodable image' },
  IMAGE_TOO_LARGE: { retryable: false, summary: 'the image has more pixels than the limit' },
  IMAGE_UNSUPPORTED_FORMAT: { retryable: false, summary: 'the image format is not supported' },
  UPLOAD_REJECTED: { retryable: false, summary: 'the fileserver rejected the upload (4xx)' },
  UPLOAD_FAILED: { retryable: true, summary: 'the upload failed (5xx, timeout or connection)' },
  INVALID_OFFER: { retryable: true, summary: 'the task was launched against an offer the executor no longer holds' },
  EXECUTOR_LOST: { retryable: true, summary: 'the executor stopped heartbeating' },
  EXECUTOR_SHUTDOWN: { retryable: true, summary: 'the executor is shutting down' },
  TASK_KILLED: { retryable: true, summary: 'the task was killed' },
  INVALID_TASK: { retryable: false, summary: 'the task description is invalid' },
  INTERNAL: { retryable: true, summary: 'unexpected internal error' },
} as const satisfies Record<string, { retryable: boolean; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CODES, value);
}

export function isRetryable(code: ErrorCode): boolean {
  return ERROR_CODES[code].retryable;
}

export class PipelineError extends Error {
  override readonly name = 'PipelineError';
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.retryable = isRetryable(code);
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
