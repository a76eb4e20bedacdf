/**
 * What went wrong with a got request, in the terms the downloader and the uploader act on. got
 * throws one class per kind of failure (all subclasses of RequestError) and passes Node's errno
 * and llhttp codes through as `code`; this reads the class first, then the code. Pure, so the
 * whole table is unit-tested without a socket.
 */
import { AbortError, CancelError, HTTPError, MaxRedirectsError, ParseError, RequestError, TimeoutError } from 'got';
import { capRetryAfterMs } from '../common/retry-delay.js';

export const USER_AGENT = 'offer-invert-executor/0.1';

/**
 * Codes for a connection that could not be made, or broke off before the response was complete:
 * the next try may work. EAI_AGAIN is a resolver failing for now, unlike ENOTFOUND.
 * ERR_HTTP_CONTENT_LENGTH_MISMATCH is got's name for a body cut short (fewer bytes than declared).
 */
export const CONNECTION_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ERR_HTTP_CONTENT_LENGTH_MISMATCH',
]);

/** The name does not exist (getaddrinfo's EAI_NONAME/EAI_NODATA): asking again gets the same answer. */
export const HOST_UNKNOWN_CODES: ReadonlySet<string> = new Set(['ENOTFOUND']);

/**
 * llhttp's "connection ended mid-message": a transfer cut short, not a malformed response. Every
 * other HPE_* code (bad Content-Length, header overflow, bad status line, bad chunk) means the
 * bytes the server sent are not valid HTTP, and they will not become valid on a retry.
 */
const TRUNCATED_PARSE_CODES: ReadonlySet<string> = new Set(['HPE_INVALID_EOF_STATE']);

// Longest wait a Retry-After may ask for; beyond it the source is treated as if it asked for this.
export { MAX_RETRY_AFTER_MS } from '../common/retry-delay.js';

export type HttpFailure =
  | {
      kind: 'status';
      status: number;
      statusMessage: string | undefined;
      body: unknown;
      /** From a Retry-After header, when present and readable. */
      retryAfterMs: number | undefined;
    }
  | { kind: 'timeout' }
  /** The caller's AbortSignal fired. */
  | { kind: 'aborted' }
  /** Our own `request.cancel()`; the caller knows why it cancelled. */
  | { kind: 'cancelled' }
  | { kind: 'host-unknown' }
  /** Not valid HTTP (an llhttp parse error), or a body got could not parse as the asked type. */
  | { kind: 'bad-response' }
  /** Refused, reset, unreachable, or cut short mid-transfer. */
  | { kind: 'connection' }
  | { kind: 'too-many-redirects' }
  /** A redirect to a non-http(s) URL; got rejects it before any beforeRedirect hook runs. */
  | { kind: 'unsupported-protocol' }
  /** Not a got error at all: a bug on our side. */
  | { kind: 'not-got' };

export function classifyHttpError(err: unknown, now: number = Date.now()): HttpFailure {
  if (!(err instanceof RequestError)) return { kind: 'not-got' };
  if (err instanceof HTTPError) {
    const response = err.response;
    const statusMessage = response.statusMessage;
    return {
      kind: 'status',
      status: response.statusCode,
      statusMessage: statusMessage === undefined || statusMessage === '' ? undefined : statusMessage,
      body: response.body,
      retryAfterMs: parseRetryAfter(response.headers['retry-after'], now),
    };
  }
  // Before the code checks: got's own timeouts carry ETIMEDOUT, and AbortError/CancelError fixed codes.
  if (err instanceof TimeoutError) return { kind: 'timeout' };
  if (err instanceof AbortError) return { kind: 'aborted' };
  if (err instanceof CancelError) return { kind: 'cancelled' };
  if (err instanceof MaxRedirectsError) return { kind: 'too-many-redirects' };
  if (err instanceof ParseError) return { kind: 'bad-response' };

  const { code } = err;
  if (code === 'ETIMEDOUT') return { kind: 'timeout' }; // the OS gave up connecting
  if (code === 'ERR_UNSUPPORTED_PROTOCOL') return { kind: 'unsupported-protocol' };
  if (HOST_UNKNOWN_CODES.has(code)) return { kind: 'host-unknown' };
  if (code.startsWith('HPE_') && !TRUNCATED_PARSE_CODES.has(code)) return { kind: 'bad-response' };
  // CONNECTION_CODES and anything else got wraps (ReadError, socket hang up, ...): the transport failed.
  return { kind: 'connection' };
}

/**
 * A Retry-After value (RFC 9110 10.2.3: delta-seconds or an HTTP-date) as milliseconds from
 * `now`, capped at MAX_RETRY_AFTER_MS; a date already past means 0. Anything else is ignored
 * (undefined): a garbled header must not stall a job.
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  const text = value?.trim();
  if (text === undefined || text === '') return undefined;
  if (/^\d+$/.test(text)) return capRetryAfterMs(Number(text) * 1000);
  // All three HTTP-date forms start with a day name; the check keeps Date.parse from reading "1.5" or "-3".
  if (!/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /i.test(text)) return undefined;
  // HTTP-dates are always GMT, but asctime form says no zone and Date.parse would read it as local time.
  const at = Date.parse(/(GMT|UTC|[+-]\d{4})$/i.test(text) ? text : `${text} GMT`);
  if (Number.isNaN(at)) return undefined;
  return capRetryAfterMs(at - now);
}
