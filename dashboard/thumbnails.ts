/**
 * Thumbnails of inverted images for the cluster page: the output read from UPLOAD_DIR (when the
 * dashboard runs beside the fileserver) or fetched from the fileserver's /files/, resized with
 * sharp to fit THUMBNAIL_PX and kept in a small cache (outputs are named per source URL, so a
 * name's content only changes when the same image is inverted again).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';

const MAX_SOURCE_BYTES = 64 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 10_000;
const CACHE_ENTRIES = 200;

export class ThumbnailError extends Error {
  constructor(
    readonly status: 400 | 404 | 502,
    message: string,
  ) {
    super(message);
  }
}

/** Output names as the fileserver stores them: no path, no leading dot. */
export function isOutputName(name: string): boolean {
  return /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/.test(name);
}

export interface ThumbnailSource {
  uploadDir: string | undefined;
  fileserverUrl: string;
  sizePx: number;
}

export class Thumbnails {
  private readonly cache = new Map<string, Promise<Buffer>>();

  constructor(private readonly source: ThumbnailSource) {}

  /** A WebP of at most sizePx x sizePx. */
  get(name: string): Promise<Buffer> {
    if (!isOutputName(name)) return Promise.reject(new ThumbnailError(400, 'not an output name'));
    const hit = this.cache.get(name);
    if (hit) {
      // Map order is insertion order: re-inserting makes this the most recently used.
      this.cache.delete(name);
      this.cache.set(name, hit);
      return hit;
    }
    const made = this.original(name).then((bytes) =>
      sharp(bytes, { limitInputPixels: 100_000_000, animated: false })
        .rotate()
        .resize(this.source.sizePx, this.source.sizePx, { fit: 'inside', withoutEnlargement: true })
        .webp({ quality: 75 })
        .toBuffer()
        .catch((err: Error) => {
          throw new ThumbnailError(502, `cannot make a thumbnail: ${err.message}`);
        }),
    );
    made.catch(() => this.cache.delete(name));
    this.cache.set(name, made);
    while (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    return made;
  }

  private async original(name: string): Promise<Buffer> {
    if (this.source.uploadDir !== undefined) {
      try {
        return await readFile(join(this.source.uploadDir, name));
      } catch (err) {
        throw new ThumbnailError((err as NodeJS.ErrnoException).code === 'ENOENT' ? 404 : 502, `cannot read ${name}`);
      }
    }
    let res: Response;
    try {
      res = await fetch(`${this.source.fileserverUrl}/files/${encodeURIComponent(name)}`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    } catch (err) {
      throw new ThumbnailError(502, `fileserver unreachable: ${(err as Error).message}`);
    }
    if (res.status === 404) throw new ThumbnailError(404, `${name} not found on the fileserver`);
    if (!res.ok) throw new ThumbnailError(502, `fileserver answered ${res.status}`);
    if (Number(res.headers.get('content-length') ?? 0) > MAX_SOURCE_BYTES) throw new ThumbnailError(502, `${name} is too large for a thumbnail`);
    const bytes = Buffer.from(await res.arrayBuffer());
    if (bytes.length > MAX_SOURCE_BYTES) throw new ThumbnailError(502, `${name} is too large for a thumbnail`);
    return bytes;
  }
}
