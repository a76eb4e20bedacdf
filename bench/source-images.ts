/** The benchmark's input: image files read once into memory, with their pixel counts. */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import { outputStem } from '../common/queue.js';
import type { ImageTaskInput } from './image-task.js';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);
/** MAX_INPUT_PIXELS of every run (raw, executors, references): generous enough for the large corpus. */
export const MAX_PIXELS = 100_000_000;

export interface SourceImage {
  name: string;
  data: Buffer;
  megapixels: number;
}

export async function loadImages(dir: string, limit: number): Promise<SourceImage[]> {
  const names = (await readdir(dir)).filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase())).sort().slice(0, limit);
  if (names.length === 0) throw new Error(`no images (${[...IMAGE_EXTENSIONS].join(' ')}) in ${dir}`);
  return Promise.all(
    names.map(async (name) => {
      const data = await readFile(join(dir, name));
      const meta = await sharp(data, { animated: true, limitInputPixels: MAX_PIXELS }).metadata();
      const frames = meta.pages ?? 1;
      return { name, data, megapixels: ((meta.width ?? 0) * (meta.pageHeight ?? meta.height ?? 0) * frames) / 1e6 };
    }),
  );
}

/** What every HTTP run fetches: the images as served by a fileserver's /images/, named as enqueueUrls names them. */
export function imageUrls(imagesBaseUrl: string, images: readonly SourceImage[]): ImageTaskInput[] {
  return images.map((i) => {
    const url = `${imagesBaseUrl}${encodeURIComponent(i.name)}`;
    return { url, output: outputStem(url) };
  });
}

/** Images the HTTP runs process untimed first: processes have just started (JIT, connections, sharp init). */
export const WARM_UP_IMAGES = 4;
