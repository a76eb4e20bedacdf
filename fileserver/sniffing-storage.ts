/**
 * multer storage engine that stages an upload in a temp file next to its final home (same
 * filesystem, so the later rename is atomic), rejects non-images after the first bytes, and
 * hashes while streaming. The temp file is always gone unless _handleFile reports success.
 */
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { requestedStem } from './safe-name.js';
import { createWriteStream } from 'node:fs';
import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Request } from 'express';
import multer from 'multer';
import type { ImageFormat } from '../common/image-format.js';
import type { Logger } from '../common/log.js';
import { describeHead, detectImageType, SNIFF_BYTES, SUPPORTED_FORMATS_TEXT } from './image-type.js';

export class NotAnImageError extends Error {
  override readonly name = 'NotAnImageError';
  readonly code = 'NOT_AN_IMAGE';
  constructor(head: Uint8Array) {
    super(`the upload is not a supported image (${SUPPORTED_FORMATS_TEXT}): ${describeHead(head)}`);
  }
}

/** What _handleFile adds to multer's file object (merged into req.file). */
export interface SniffedFile extends Express.Multer.File {
  format: ImageFormat;
  /** The temp file; the caller renames it into place or unlinks it. */
  path: string;
  size: number;
  sha256: string;
}

export function isSniffedFile(file: Express.Multer.File | undefined): file is SniffedFile {
  const f = file as Partial<SniffedFile> | undefined;
  return typeof f?.format === 'string' && typeof f.path === 'string' && typeof f.sha256 === 'string';
}

/** Chunks are gathered to this size before they go to disk: one write per MiB, not per 64 KiB. */
const WRITE_CHUNK_BYTES = 1 << 20;

/**
 * Buffers the head until it can decide, then passes everything through in ~1 MiB pieces (each
 * disk write is a hand-off to a worker thread, and those add up at 16 per MiB). Hashes only when
 * asked: the hash names uploads that come with neither a name nor a filename, and costs ~2.5 ms per MB.
 */
class ImageSniffer extends Transform {
  private head: Buffer[] = [];
  private headBytes = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  format: ImageFormat | undefined;
  bytes = 0;
  readonly hash: Hash | undefined;

  constructor(hashing: boolean) {
    super();
    this.hash = hashing ? createHash('sha256') : undefined;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash?.update(chunk);
    this.bytes += chunk.length;
    if (this.format !== undefined) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes >= WRITE_CHUNK_BYTES) this.flushPending();
      return callback();
    }
    this.head.push(chunk);
    this.headBytes += chunk.length;
    if (this.headBytes < SNIFF_BYTES) return callback();
    this.decide(callback);
  }

  override _flush(callback: TransformCallback): void {
    if (this.format !== undefined) {
      this.flushPending();
      return callback();
    }
    this.decide(callback);
  }

  private flushPending(): void {
    if (this.pendingBytes === 0) return;
    this.push(this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes));
    this.pending = [];
    this.pendingBytes = 0;
  }

  private decide(callback: TransformCallback): void {
    const buffered = Buffer.concat(this.head);
    this.head = [];
    this.format = detectImageType(buffered);
    if (this.format === undefined) return callback(new NotAnImageError(buffered));
    callback(null, buffered);
  }
}

async function unlinkQuietly(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

export interface SniffingStorageOptions {
  /** Must be on the same filesystem as the final upload directory. */
  tmpDir: string;
  log: Logger;
}

export class SniffingStorage implements multer.StorageEngine {
  private readonly tmpDir: string;
  private readonly log: Logger;
  // Cleanups still running per request: the app awaits them before replying, so a 4xx never
  // races ahead of the unlink of the rejected temp file.
  private readonly inFlight = new WeakMap<Request, Set<Promise<void>>>();

  constructor(options: SniffingStorageOptions) {
    this.tmpDir = options.tmpDir;
    this.log = options.log;
  }

  _handleFile(
    req: Request,
    file: Express.Multer.File,
    callback: (error?: unknown, info?: Partial<SniffedFile>) => void,
  ): void {
    // Fields sent before the file are already parsed; the hash is only needed without a usable name.
    const body: unknown = req.body;
    const name = typeof body === 'object' && body !== null ? (body as { name?: unknown }).name : undefined;
    const named = requestedStem(typeof name === 'string' ? name : file.originalname) !== '';
    const work = this.store(file, !named).then(
      (info) => callback(null, info),
      (err: unknown) => callback(err),
    );
    this.track(req, work);
  }

  _removeFile(req: Request, file: Express.Multer.File, callback: (error: Error | null) => void): void {
    const path = (file as Partial<SniffedFile>).path;
    if (path === undefined) return callback(null);
    const work = unlinkQuietly(path).then(
      () => callback(null),
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
    );
    this.track(req, work);
  }

  /** Resolves once every temp-file write or cleanup started for this request has finished. */
  async settled(req: Request): Promise<void> {
    const pending = this.inFlight.get(req);
    while (pending !== undefined && pending.size > 0) await Promise.allSettled([...pending]);
  }

  private track(req: Request, work: Promise<void>): void {
    let pending = this.inFlight.get(req);
    if (pending === undefined) this.inFlight.set(req, (pending = new Set()));
    // multer's callbacks should not throw; if one does, log it rather than crash on a rejection
    const entry = work
      .catch((err: unknown) => this.log.error('upload storage callback failed', { err }))
      .finally(() => pending.delete(entry));
    pending.add(entry);
  }

  private async store(file: Express.Multer.File, hashing: boolean): Promise<Partial<SniffedFile>> {
    const tempPath = join(this.tmpDir, `${randomUUID()}.part`);
    const sniffer = new ImageSniffer(hashing);
    const out = createWriteStream(tempPath, { flags: 'wx' });
    // busboy keeps reading the part after the size limit; stop writing at once instead.
    const onLimit = () => sniffer.destroy(new multer.MulterError('LIMIT_FILE_SIZE', file.fieldname));
    file.stream.once('limit', onLimit);
    try {
      await pipeline(file.stream, sniffer, out);
      if ((file.stream as { truncated?: boolean }).truncated === true) {
        throw new multer.MulterError('LIMIT_FILE_SIZE', file.fieldname);
      }
    } catch (err) {
      // Wait for the descriptor to close: an open still in flight would recreate the file.
      if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
      await unlinkQuietly(tempPath);
      throw err;
    } finally {
      file.stream.off('limit', onLimit);
    }
    if (sniffer.format === undefined) throw new Error('sniffer finished without a decision');
    return { format: sniffer.format, path: tempPath, size: sniffer.bytes, sha256: sniffer.hash?.digest('hex') ?? '' };
  }
}

/** Removes temp files left by a crash; anything this old cannot belong to a live upload. */
export async function removeStaleTempFiles(tmpDir: string, maxAgeMs: number, now = Date.now()): Promise<number> {
  let removed = 0;
  for (const entry of await readdir(tmpDir, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(tmpDir, entry.name);
    const info = await stat(path).catch(() => undefined);
    if (info === undefined || now - info.mtimeMs < maxAgeMs) continue;
    await unlinkQuietly(path);
    removed += 1;
  }
  return removed;
}
