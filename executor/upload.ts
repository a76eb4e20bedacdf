/**
 * Sends an inverted image to the fileserver as multipart/form-data. Retrying a POST is safe
 * here: the output name is deterministic, so a repeated upload overwrites the same file.
 */
import { randomBytes } from 'node:crypto';
import { isAborted, keepAliveAgents } from './http-shared.js';
import got from 'got';
import { PipelineError } from '../common/errors.js';
import { EXTENSION, MIME_TYPE, type ImageFormat } from '../common/image-format.js';
import { retryDelay } from '../common/retry-delay.js';
import { classifyHttpError, CONNECTION_CODES, HOST_UNKNOWN_CODES, USER_AGENT } from './http-errors.js';

export interface UploaderOptions {
  /** Bearer token the fileserver checks before it reads the body. */
  token: string;
  /** Per attempt, the whole request. */
  timeoutMs: number;
  /** Extra attempts after the first, for 5xx, 408/429, timeouts and connection errors. */
  retries: number;
  /** First retry delay, doubled for each further retry (capped at 10 s); default 500. */
  retryDelayMs?: number;
}

export interface UploadedFile {
  name: string;
  url: string;
  bytes: number;
}

export type BatchUploader = (
  /** The fileserver's batch endpoint (POST /uploads). */
  url: string,
  images: readonly { name: string; data: Buffer; format: ImageFormat }[],
  signal?: AbortSignal,
) => Promise<UploadedFile[]>;

export type Uploader = (
  /** url: the fileserver's upload endpoint; name: the output file name without extension. */
  target: { url: string; name: string },
  image: { data: Buffer; format: ImageFormat },
  signal?: AbortSignal,
) => Promise<UploadedFile>;

const MAX_RETRY_DELAY_MS = 10_000;
// got's default list minus 413: a too-large upload stays too large.
const RETRY_STATUS_CODES = [408, 429, 500, 502, 503, 504, 521, 522, 524];
// Unlike a source, the fileserver is our own configured host: an unknown name there is a container
// restarting (its name briefly leaves the resolver), worth a retry. ETIMEDOUT covers got's timeouts.
const RETRY_ERROR_CODES = [...CONNECTION_CODES, ...HOST_UNKNOWN_CODES, 'ETIMEDOUT'];

/** The server's own explanation from an error body such as `{ "error": "..." }` or `{ "error": { "message": "..." } }`. */
export function serverMessage(body: unknown): string | undefined {
  let value = body;
  const raw = Buffer.isBuffer(body) ? body.toString('utf8') : body;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw) as unknown;
    } catch {
      const text = raw.trim().slice(0, 200);
      return text === '' ? undefined : text;
    }
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { error, message } = value as { error?: unknown; message?: unknown };
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && error !== null) {
    const nested = (error as { message?: unknown }).message;
    if (typeof nested === 'string') return nested;
  }
  return typeof message === 'string' ? message : undefined;
}

/** Maps whatever got threw into a PipelineError; pure, so unit-testable. */
export function uploadError(err: unknown, url: string, aborted = false): PipelineError {
  if (err instanceof PipelineError) return err;
  if (aborted) return new PipelineError('TASK_KILLED', `upload to ${url} was aborted`, { cause: err });
  const http = classifyHttpError(err);
  if (http.kind === 'status') {
    const said = serverMessage(http.body);
    const text = `POST ${url} answered ${http.status}${said === undefined ? '' : `: ${said}`}`;
    const rejected = http.status >= 400 && http.status < 500 && http.status !== 408 && http.status !== 429;
    if (rejected) return new PipelineError('UPLOAD_REJECTED', text, { cause: err });
    return new PipelineError('UPLOAD_FAILED', text, { cause: err, retryAfterMs: http.retryAfterMs });
  }
  if (http.kind === 'aborted') return new PipelineError('TASK_KILLED', `upload to ${url} was aborted`, { cause: err });
  // Timeouts, connection failures, a reply that is not JSON: the fileserver may do better next time.
  const message = err instanceof Error ? err.message : String(err);
  return new PipelineError('UPLOAD_FAILED', `POST ${url} failed: ${message}`, { cause: err });
}

function parseUploaded(body: unknown, url: string): UploadedFile {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Partial<Record<keyof UploadedFile, unknown>>;
  if (typeof b.name !== 'string' || typeof b.url !== 'string' || typeof b.bytes !== 'number') {
    throw new PipelineError('UPLOAD_FAILED', `POST ${url} answered an unexpected body: ${JSON.stringify(body)?.slice(0, 200)}`);
  }
  return { name: b.name, url: b.url, bytes: b.bytes };
}

/**
 * The multipart body as one Buffer, built directly: cheaper than FormData + Response on the hot
 * path, and a Buffer body can be resent as is on retry (got turns a FormData body into a one-shot
 * generator, so a retry would resend an empty body under the old content-length).
 */
export function multipart(name: string, image: { data: Buffer; format: ImageFormat }): { body: Buffer; contentType: string } {
  const boundary = `----offer-invert-${randomBytes(12).toString('hex')}`;
  const field = (value: string) => value.replace(/["\r\n]/g, '_');
  // The fileserver names the file from `name`, so that field must precede the file part.
  const head =
    `--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\n${field(name)}\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="${field(`${name}.${EXTENSION[image.format]}`)}"\r\n` +
    `Content-Type: ${MIME_TYPE[image.format]}\r\n\r\n`;
  const body = Buffer.concat([Buffer.from(head, 'utf8'), image.data, Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8')]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}


/** Several images in one multipart body, each part named by its filename (POST /uploads). */
export function multipartMany(images: readonly { name: string; data: Buffer; format: ImageFormat }[]): { body: Buffer; contentType: string } {
  const boundary = `----offer-invert-${randomBytes(12).toString('hex')}`;
  const field = (value: string) => value.replace(/["\r\n]/g, '_');
  const parts: Buffer[] = [];
  for (const image of images) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="${field(`${image.name}.${EXTENSION[image.format]}`)}"\r\n` +
          `Content-Type: ${MIME_TYPE[image.format]}\r\n\r\n`,
        'utf8',
      ),
      image.data,
      Buffer.from('\r\n', 'utf8'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`, 'utf8'));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

function parseBatch(body: unknown, url: string, count: number): UploadedFile[] {
  const files = (typeof body === 'object' && body !== null ? (body as { files?: unknown }).files : undefined) as unknown;
  if (!Array.isArray(files) || files.length !== count) {
    throw new PipelineError('UPLOAD_FAILED', `POST ${url} answered an unexpected body: ${JSON.stringify(body)?.slice(0, 200)}`);
  }
  return files.map((f) => parseUploaded(f, url));
}

export function createUploader(opts: UploaderOptions): Uploader {
  const post = poster(opts);
  return async (target, image, signal) => parseUploaded(await post(target.url, multipart(target.name, image), signal), target.url);
}

export function createBatchUploader(opts: UploaderOptions): BatchUploader {
  const post = poster(opts);
  return async (url, images, signal) => parseBatch(await post(url, multipartMany(images), signal), url, images.length);
}

/** One authenticated POST of a multipart body, retried on 5xx and connection errors; the JSON reply. */
function poster(opts: UploaderOptions): (url: string, body: { body: Buffer; contentType: string }, signal?: AbortSignal) => Promise<unknown> {
  const agent = keepAliveAgents();
  const baseDelayMs = opts.retryDelayMs ?? 500;

  return async (url, { body: payload, contentType }, signal) => {
    if (isAborted(signal)) throw uploadError(signal?.reason, url, true);
    try {
      return await got.post(url, {
        agent,
        signal,
        body: payload,
        headers: {
          authorization: `Bearer ${opts.token}`,
          'content-type': contentType,
          'user-agent': USER_AGENT,
        },
        responseType: 'json',
        resolveBodyOnly: true,
        timeout: { request: opts.timeoutMs },
        retry: {
          limit: opts.retries,
          methods: ['POST'], // got skips POST by default
          statusCodes: RETRY_STATUS_CODES,
          errorCodes: RETRY_ERROR_CODES,
          calculateDelay: ({ computedValue, attemptCount, retryAfter }) =>
            computedValue === 0 ? 0 : retryDelay({ firstMs: baseDelayMs, maxMs: MAX_RETRY_DELAY_MS }, attemptCount, retryAfter),
        },
      });
    } catch (err) {
      throw uploadError(err, url, isAborted(signal));
    }
  };
}
