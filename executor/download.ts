/**
 * Fetches a source image into memory with hard limits: got has no timeout and no size cap by
 * default, and an untrusted URL must not reach private addresses, directly or by redirect.
 */
import { lookup as dnsLookup } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { isAborted, keepAliveAgents } from './http-shared.js';
import got from 'got';
import { isRetryable, PipelineError, type ErrorCode } from '../common/errors.js';
import { classifyHttpError, USER_AGENT } from './http-errors.js';
import { watchTransferRate } from './transfer-rate.js';
import { checkSourceUrl, isBlockedAddress, needsAddressCheck, type UrlPolicy } from './url-policy.js';

export interface DownloadOptions {
  connectTimeoutMs: number;
  /** Time to the first response byte once the request is sent. */
  responseTimeoutMs: number;
  /** Whole request including redirects and the body. */
  totalTimeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
  /**
   * Below this average rate since the response started, after `rateGraceMs`, the download is
   * cancelled (DOWNLOAD_TOO_SLOW) instead of holding its slot until `totalTimeoutMs`; 0 disables.
   * Config default 16384 (MIN_DOWNLOAD_BYTES_PER_SEC).
   */
  minBytesPerSecond: number;
  /** How long after the response starts the rate is first judged; config default 5000 (DOWNLOAD_RATE_GRACE_MS). */
  rateGraceMs: number;
  policy: UrlPolicy;
}

export type Downloader = (url: string, signal?: AbortSignal) => Promise<Buffer>;

/**
 * A dns lookup that refuses private/local answers. Refusing when ANY answer is blocked (rather
 * than filtering) keeps a host that mixes public and private records from ever reaching the
 * private one. Node's net calls this with `all: true` (autoSelectFamily) or for one address.
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, options.all === true ? [] : '');
    const blocked = addresses.find((a) => isBlockedAddress(a.address));
    const first = addresses[0];
    if (blocked !== undefined || first === undefined) {
      const reason = first === undefined ? 'resolved to no address' : `resolves to the private or local address ${blocked?.address}`;
      return callback(new PipelineError('URL_FORBIDDEN', `${hostname} ${reason}`), options.all === true ? [] : '');
    }
    if (options.all === true) return callback(null, addresses);
    callback(null, first.address, first.family);
  });
};

function findPipelineError(err: unknown): PipelineError | undefined {
  // got wraps errors thrown by hooks and the dns lookup in a RequestError with them as cause.
  for (let e = err, depth = 0; e instanceof Error && depth < 5; depth++) {
    if (e instanceof PipelineError) return e;
    e = e.cause;
  }
  return undefined;
}

function statusCode(code: number): ErrorCode {
  if (code === 404 || code === 410) return 'DOWNLOAD_NOT_FOUND';
  if (code === 408 || code === 429 || code >= 500) return 'DOWNLOAD_HTTP_5XX';
  return 'DOWNLOAD_HTTP_4XX';
}

export interface DownloadFailure {
  /** The caller's signal was aborted: the task is being killed, whatever got reports. */
  aborted?: boolean;
  /** Set when the byte cap cancelled the request; describes what exceeded it. */
  tooLarge?: string;
  /** Set when the minimum-rate check cancelled the request; describes the rate. */
  tooSlow?: string;
}

/** Maps whatever got threw into a PipelineError with a stable code; pure, so unit-testable. */
export function downloadError(err: unknown, url: string, failure: DownloadFailure = {}): PipelineError {
  if (failure.aborted === true) return new PipelineError('TASK_KILLED', `download of ${url} was aborted`, { cause: err });
  if (failure.tooLarge !== undefined) {
    return new PipelineError('DOWNLOAD_TOO_LARGE', `${url}: ${failure.tooLarge}`, { cause: err });
  }
  if (failure.tooSlow !== undefined) {
    return new PipelineError('DOWNLOAD_TOO_SLOW', `GET ${url} too slow: ${failure.tooSlow}`, { cause: err });
  }
  const known = findPipelineError(err);
  if (known !== undefined) return known;

  const message = err instanceof Error ? err.message : String(err);
  const failed = (code: ErrorCode, text = `GET ${url} failed: ${message}`) => new PipelineError(code, text, { cause: err });
  const http = classifyHttpError(err);
  switch (http.kind) {
    case 'status': {
      const code = statusCode(http.status);
      const text = `GET ${url} answered ${http.status}${http.statusMessage === undefined ? '' : ` ${http.statusMessage}`}`;
      // A wait asked of a request we will not repeat means nothing, so only retryable codes carry it.
      const retryAfterMs = isRetryable(code) ? http.retryAfterMs : undefined;
      return new PipelineError(code, text, { cause: err, retryAfterMs });
    }
    case 'timeout':
      return failed('DOWNLOAD_TIMEOUT', `GET ${url} timed out: ${message}`);
    case 'aborted':
      return new PipelineError('TASK_KILLED', `download of ${url} was aborted`, { cause: err });
    case 'host-unknown':
      return failed('DOWNLOAD_HOST_UNKNOWN', `GET ${url}: the host name does not exist (${message})`);
    case 'bad-response':
      return failed('DOWNLOAD_BAD_RESPONSE', `GET ${url} answered with malformed HTTP: ${message}`);
    case 'connection':
      return failed('DOWNLOAD_CONNECTION');
    case 'too-many-redirects':
      // A redirect loop will not fix itself on retry.
      return failed('DOWNLOAD_HTTP_4XX', `GET ${url}: ${message}`);
    case 'unsupported-protocol':
      return failed('URL_INVALID', `GET ${url} redirected to a non-http(s) URL: ${message}`);
    case 'cancelled': // we cancel only for size or rate, both flagged above
    case 'not-got':
      return failed('INTERNAL', `GET ${url} failed unexpectedly: ${message}`);
  }
}

export function createDownloader(opts: DownloadOptions): Downloader {
  const agent = keepAliveAgents();
  const lookupFor = (url: URL): LookupFunction | undefined =>
    needsAddressCheck(url, opts.policy) ? guardedLookup : undefined;

  return async (raw, signal) => {
    const url = checkSourceUrl(raw, opts.policy);
    if (isAborted(signal)) throw downloadError(signal?.reason, url.href, { aborted: true });

    let tooLarge: string | undefined;
    let tooSlow: string | undefined;
    const request = got(url, {
      agent,
      signal,
      responseType: 'buffer',
      resolveBodyOnly: true,
      decompress: false,
      headers: { 'accept-encoding': 'identity', accept: 'image/*,*/*;q=0.5', 'user-agent': USER_AGENT },
      timeout: {
        lookup: opts.connectTimeoutMs,
        connect: opts.connectTimeoutMs,
        secureConnect: opts.connectTimeoutMs,
        response: opts.responseTimeoutMs,
        request: opts.totalTimeoutMs,
      },
      retry: { limit: 0 }, // retries happen at the job level, with backoff and a fresh executor
      followRedirect: true,
      maxRedirects: opts.maxRedirects,
      dnsLookup: lookupFor(url),
      hooks: {
        beforeRedirect: [
          (options) => {
            const next = checkSourceUrl(String(options.url), opts.policy);
            options.dnsLookup = lookupFor(next);
          },
        ],
      },
    });
    const rate = watchTransferRate({ minBytesPerSecond: opts.minBytesPerSecond, graceMs: opts.rateGraceMs }, (reason) => {
      tooSlow = reason;
      request.cancel();
    });
    // The first progress event comes with the final response's headers (none for redirects),
    // carrying content-length as `total` before any body arrives; it also starts the rate clock.
    request.on('downloadProgress', (progress) => {
      rate.progress(progress.transferred);
      if (tooLarge !== undefined) return;
      if (progress.total !== undefined && progress.total > opts.maxBytes) {
        tooLarge = `content-length ${progress.total} exceeds the limit of ${opts.maxBytes} bytes`;
      } else if (progress.transferred > opts.maxBytes) {
        tooLarge = `body exceeds the limit of ${opts.maxBytes} bytes`;
      }
      if (tooLarge !== undefined) request.cancel();
    });
    try {
      return await request;
    } catch (err) {
      throw downloadError(err, url.href, { aborted: isAborted(signal), tooLarge, tooSlow });
    } finally {
      rate.stop();
    }
  };
}
