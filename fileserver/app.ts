/**
 * HTTP surface of the fileserver: authenticated uploads staged and renamed into place, and
 * read-only serving of uploads and demo source images.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { extname, join } from 'node:path';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import multer from 'multer';
import type { Logger } from '../common/log.js';
import type { FileserverConfig } from './config.js';
import type { FileserverObserver } from './metrics.js';
import { requestedStem, safeOutputName } from './safe-name.js';
import { isSniffedFile, NotAnImageError, removeStaleTempFiles, SniffingStorage, type SniffedFile } from './sniffing-storage.js';

/** Dot-prefixed, so it is never served and no sanitised upload name can collide with it. */
export const TEMP_DIR_NAME = '.tmp';
const STALE_TEMP_MS = 60 * 60 * 1000;

export interface UploadResponse {
  name: string;
  url: string;
  bytes: number;
  format: string;
}

export interface BatchUploadResponse {
  files: UploadResponse[];
}

/** Images one POST /uploads may carry. */
export const MAX_BATCH_FILES = 64;

export interface ErrorResponse {
  error: { code: string; message: string };
}

class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function createFileserverApp(config: Readonly<FileserverConfig>, log: Logger, observer?: FileserverObserver): express.Express {
  const tmpDir = join(config.uploadDir, TEMP_DIR_NAME);
  mkdirSync(tmpDir, { recursive: true });
  removeStaleTempFiles(tmpDir, STALE_TEMP_MS).then(
    (removed) => removed > 0 && log.info('removed stale temp files', { removed, tmpDir }),
    (err: unknown) => log.warn('could not clean stale temp files', { tmpDir, err }),
  );

  const storage = new SniffingStorage({ tmpDir, log });
  // multer's limits default to unlimited; the only big parts we accept are the images.
  const limits = { fileSize: config.maxUploadBytes, fieldNameSize: 100, fieldSize: 1024, headerPairs: 20 };
  const parseImage = multer({ storage, limits: { ...limits, files: 1, fields: 5, parts: 10 }, defParamCharset: 'utf8' }).single('image');
  const parseImages = multer({ storage, limits: { ...limits, files: MAX_BATCH_FILES, fields: 0, parts: MAX_BATCH_FILES }, defParamCharset: 'utf8' }).array(
    'image',
    MAX_BATCH_FILES,
  );

  /** Runs a multer parser, then waits for the storage's cleanups before going on (or rejecting). */
  const parsed =
    (parse: RequestHandler): RequestHandler =>
    (req, res, next) => {
      parse(req, res, (err?: unknown) => {
        // A rejected file is still being unlinked when multer gives up: reply only after that.
        storage.settled(req).then(() => next(err === undefined ? undefined : classifyUploadError(err, config.maxUploadBytes)), next);
      });
    };

  /** Renames a staged upload into place under its safe name; a retried upload overwrites, never duplicates. */
  const place = async (req: Request, file: Express.Multer.File, requested: string): Promise<UploadResponse> => {
    if (!isSniffedFile(file)) throw new Error('upload storage did not record the file');
    let name: string;
    try {
      // The storage hashed the bytes only when no usable name was known while streaming.
      const fallback = file.sha256 !== '' ? file.sha256.slice(0, 16) : requestedStem(file.originalname);
      name = safeOutputName(requested, file.format, fallback);
      await rename(file.path, join(config.uploadDir, name));
    } catch (err) {
      await unlink(file.path).catch(() => undefined);
      throw err;
    }
    log.info('upload stored', { name, bytes: file.size, format: file.format });
    observer?.uploadStored(file.size);
    return { name, url: `${baseUrl(req, config)}/files/${encodeURIComponent(name)}`, bytes: file.size, format: file.format };
  };

  const app = express();
  app.disable('x-powered-by');
  if (observer) app.use(timed(observer));

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });

  app.post('/upload', requireBearer(config.uploadToken), parsed(parseImage), async (req, res) => {
    const file = req.file;
    if (file === undefined) throw new HttpError(400, 'MISSING_FILE', 'send the image as multipart/form-data file field "image"');
    let stored: UploadResponse;
    try {
      stored = await place(req, file, requestedName(req.body, file.originalname));
    } catch (err) {
      if (err instanceof HttpError) await unlink((file as Partial<SniffedFile>).path ?? '').catch(() => undefined);
      throw err;
    }
    res.status(201).location(stored.url).json(stored);
  });

  // Several images in one request, each named by its part's filename: one request's fixed cost
  // shared by a whole task's outputs.
  app.post('/uploads', requireBearer(config.uploadToken), parsed(parseImages), async (req, res) => {
    const files = Array.isArray(req.files) ? req.files : [];
    if (files.length === 0) throw new HttpError(400, 'MISSING_FILE', 'send the images as multipart/form-data file fields "image"');
    const stored: UploadResponse[] = [];
    try {
      for (const file of files) stored.push(await place(req, file, file.originalname));
    } finally {
      for (const file of files.slice(stored.length)) await unlink((file as Partial<SniffedFile>).path ?? '').catch(() => undefined);
    }
    const body: BatchUploadResponse = { files: stored };
    res.status(201).json(body);
  });

  app.get('/files/:name', serveOneFile(config.uploadDir));
  app.get('/images/:name', serveOneFile(config.imagesDir));

  app.use((_req, _res, next) => next(new HttpError(404, 'NOT_FOUND', 'no such file or route')));
  app.use(errorHandler(log, observer));
  return app;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Runs before multer so an unauthenticated client never gets a byte written to disk. */
function requireBearer(token: string): RequestHandler {
  // Comparing fixed-length digests keeps timingSafeEqual from leaking the token's length.
  const expected = digest(token);
  return (req, res, next) => {
    const given = /^Bearer +(\S+) *$/i.exec(req.get('authorization') ?? '')?.[1];
    if (given !== undefined && timingSafeEqual(digest(given), expected)) return next();
    res.set('WWW-Authenticate', given === undefined ? 'Bearer realm="fileserver"' : 'Bearer realm="fileserver", error="invalid_token"');
    next(new HttpError(401, 'UNAUTHORIZED', given === undefined ? 'missing bearer token' : 'invalid bearer token'));
  };
}

function requestedName(body: unknown, originalName: string): string {
  const name: unknown = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).name : undefined;
  if (name === undefined) return originalName;
  if (typeof name !== 'string') throw new HttpError(400, 'INVALID_NAME', 'the "name" field must be sent once, as text');
  return name.trim() === '' ? originalName : name;
}

function baseUrl(req: Request, config: Readonly<FileserverConfig>): string {
  if (config.publicUrl !== undefined) return config.publicUrl;
  const host = req.get('host') ?? `${req.socket.localAddress}:${req.socket.localPort}`;
  return `${req.protocol}://${host}`;
}

function classifyUploadError(err: unknown, maxUploadBytes: number): unknown {
  if (err instanceof NotAnImageError) return new HttpError(400, err.code, err.message, { cause: err });
  if (err instanceof multer.MulterError) {
    if (err.code === 'LIMIT_FILE_SIZE') {
      return new HttpError(413, err.code, `the image is larger than ${maxUploadBytes} bytes`, { cause: err });
    }
    const field = err.field === undefined ? '' : ` (field "${err.field}")`;
    return new HttpError(400, err.code, `${err.message}${field}`, { cause: err });
  }
  // Disk errors (ENOSPC, EACCES) are ours; anything else from busboy is a malformed body.
  if (err instanceof Error && !('syscall' in err)) {
    return new HttpError(400, 'BAD_MULTIPART', `malformed multipart body: ${err.message}`, { cause: err });
  }
  return err;
}

function isServableName(name: string): boolean {
  return name !== '' && !name.startsWith('.') && !/[\\/\0]/.test(name);
}

/** Serves one file by name from root; traversal, dotfiles and misses are all plain 404s. */
/** Files up to this size are read whole and sent in one write; larger ones stream. */
const WHOLE_FILE_BYTES = 8 * 1024 * 1024;

/**
 * Serves one file by name from root; traversal, dotfiles and misses are all plain 404s.
 * A plain GET of a small file (every executor download) is answered from one read, without
 * the stream, ETag and range machinery of sendFile: that is most of a small image's cost here.
 * Range and conditional requests (browsers) still go through sendFile.
 */
function serveOneFile(root: string): RequestHandler<{ name: string }> {
  const notFound = () => new HttpError(404, 'NOT_FOUND', 'no such file');
  const missing = (err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR' || code === 'ENAMETOOLONG' || code === 'ELOOP';
  };
  const viaSendFile = (name: string, res: Response, next: NextFunction) => {
    // 1 MiB reads (send passes this on to the file stream): 16x fewer socket writes than the
    // 64 KiB default, and each write that wakes the reader is what costs on small VMs.
    const options = { root, dotfiles: 'deny' as const, headers: { 'X-Content-Type-Options': 'nosniff' }, highWaterMark: 1 << 20 };
    res.sendFile(name, options, (err?: Error) => {
      if (err === undefined || res.headersSent) return;
      const status = (err as { status?: unknown }).status;
      if ((typeof status === 'number' && status < 500) || missing(err)) return next(notFound());
      next(err);
    });
  };
  return (req, res, next) => {
    const name = req.params.name;
    if (!isServableName(name)) return next(notFound());
    const h = req.headers;
    if (req.method !== 'GET' || h.range !== undefined || h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined) {
      return viaSendFile(name, res, next);
    }
    void (async () => {
      let file: FileHandle | undefined;
      try {
        file = await open(join(root, name), 'r');
        const info = await file.stat();
        if (!info.isFile()) return next(notFound());
        if (info.size > WHOLE_FILE_BYTES) return viaSendFile(name, res, next);
        const data = await file.readFile();
        res
          .status(200)
          .type(extname(name) || 'application/octet-stream')
          .set({ 'Content-Length': String(data.length), 'Last-Modified': info.mtime.toUTCString(), 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'public, max-age=0' })
          .end(data);
      } catch (err) {
        next(missing(err) ? notFound() : err);
      } finally {
        await file?.close().catch(() => undefined);
      }
    })();
  };
}

/** Reports every answered request, by the pattern of the route that matched it. */
function timed(observer: FileserverObserver): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const route: unknown = (req.route as { path?: unknown } | undefined)?.path;
      observer.requestDone(req.method, typeof route === 'string' ? route : 'other', res.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}

function errorHandler(log: Logger, observer: FileserverObserver | undefined) {
  return (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    // Headers already out (e.g. a client gone mid-download): let express close the socket.
    if (res.headersSent) return next(err);
    const status = err instanceof HttpError ? err.status : httpStatusOf(err);
    const code = err instanceof HttpError ? err.code : status < 500 ? 'BAD_REQUEST' : 'INTERNAL';
    const message = status < 500 && err instanceof Error ? err.message : 'internal error';
    if (status >= 500) log.error('request failed', { method: req.method, path: req.path, err });
    else log.info('request rejected', { method: req.method, path: req.path, status, code });
    if (req.method === 'POST' && (req.path === '/upload' || req.path === '/uploads')) observer?.uploadRejected(code);
    const body: ErrorResponse = { error: { code, message } };
    res.status(status).json(body);
  };
}

/** Errors from express itself (bad URL encoding, ...) carry a 4xx `status`. */
function httpStatusOf(err: unknown): number {
  const status = typeof err === 'object' && err !== null ? (err as { status?: unknown }).status : undefined;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}
