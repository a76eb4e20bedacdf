/**
 * Deterministic test images: SVG scenes (gradients and shapes) rendered by sharp and encoded
 * in every format the pipeline handles. No randomness, so tests, benchmarks and the committed
 * samples are reproducible byte for byte on the same sharp version.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';

export const SYNTHETIC_KINDS = [
  'jpeg',
  'png-alpha',
  'webp',
  'gif', // animated, `gifFrames` frames
  'tiff',
  'avif',
  'grey-png',
  'png16',
  'jpeg-exif6', // pixels stored unrotated, EXIF orientation 6 (display rotated 90 degrees clockwise)
] as const;
export type SyntheticKind = (typeof SYNTHETIC_KINDS)[number];

export const SYNTHETIC_EXTENSION: Record<SyntheticKind, string> = {
  jpeg: 'jpg',
  'png-alpha': 'png',
  webp: 'webp',
  gif: 'gif',
  tiff: 'tiff',
  avif: 'avif',
  'grey-png': 'png',
  png16: 'png',
  'jpeg-exif6': 'jpg',
};

export interface SyntheticSpec {
  /** How many images; kinds repeat in order. Default: one of each kind. */
  count?: number;
  /** Smallest and largest edge in pixels; each image gets its own deterministic size in between. Default 64..256. */
  minSize?: number;
  maxSize?: number;
  kinds?: readonly SyntheticKind[];
  /** Frames per animated GIF. Default 3. */
  gifFrames?: number;
}

/** Fractional part of i * an irrational: an even, repeatable spread of sizes without a PRNG. */
function spread(i: number, step: number): number {
  return (i * step) % 1;
}

function hsl(hue: number, saturation: number, lightness: number): string {
  return `hsl(${Math.round(hue) % 360},${saturation}%,${lightness}%)`;
}

/**
 * One scene: a diagonal gradient with circles and bars placed from the seed. `transparent`
 * leaves the background see-through and the shapes half-opaque; `frame` shifts the shapes for animations.
 */
export function sceneSvg(width: number, height: number, seed: number, opts: { transparent?: boolean; frame?: number; flat?: boolean } = {}): string {
  const hue = (seed * 47) % 360;
  const frame = opts.frame ?? 0;
  const min = Math.min(width, height);
  const shapes: string[] = [];
  for (let k = 0; k < 4; k++) {
    const cx = Math.round(width * (0.15 + 0.7 * spread(seed + k, 0.618034)) + frame * min * 0.08);
    const cy = Math.round(height * (0.15 + 0.7 * spread(seed + k, 0.414214)));
    const r = Math.max(2, Math.round(min * (0.08 + 0.1 * spread(seed + k, 0.732051))));
    const opacity = opts.transparent === true ? 0.6 : 1;
    shapes.push(`<circle cx="${cx}" cy="${cy}" r="${r}" fill="${hsl(hue + 90 * k + 30, 80, 55)}" fill-opacity="${opacity}"/>`);
  }
  const barHeight = Math.max(1, Math.round(height / 10));
  shapes.push(`<rect x="0" y="${height - barHeight}" width="${Math.round(width / 2)}" height="${barHeight}" fill="${hsl(hue + 180, 60, 25)}"/>`);
  // GIFs hold 256 colours: flat fills keep their palette exact and their encoding fast.
  const background =
    opts.transparent === true
      ? ''
      : opts.flat === true
        ? `<rect width="100%" height="100%" fill="${hsl(hue, 50, 70)}"/>`
        : `<defs><linearGradient id="bg" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${hsl(hue, 70, 75)}"/><stop offset="1" stop-color="${hsl(hue + 160, 60, 20)}"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#bg)"/>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${background}${shapes.join('')}</svg>`;
}

async function renderRgba(svg: string): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Widens 8-bit RGB to 16 bits with a deterministic low byte, so every bit of the 16-bit range is used. */
async function toPng16(svg: string): Promise<Buffer> {
  const { data, info } = await sharp(Buffer.from(svg)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const wide = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const pixel = Math.floor(i / 3);
    wide[i] = (data[i] ?? 0) * 256 + ((pixel * 31 + (i % 3) * 85) & 255);
  }
  return sharp(wide, { raw: { width: info.width, height: info.height, channels: 3 } })
    .toColourspace('rgb16')
    .png()
    .toBuffer();
}

/** Encodes SVG frame(s) as a file of the given kind; only 'gif' uses more than the first frame. */
export async function encodeSvgAs(kind: SyntheticKind, frames: string | readonly string[]): Promise<Buffer> {
  const list = typeof frames === 'string' ? [frames] : frames;
  const first = list[0];
  if (first === undefined) throw new Error('encodeSvgAs needs at least one frame');
  const svg = Buffer.from(first);
  switch (kind) {
    case 'jpeg':
      return sharp(svg).flatten({ background: '#ffffff' }).jpeg({ quality: 90 }).toBuffer();
    case 'png-alpha':
      return sharp(svg).ensureAlpha().png().toBuffer();
    case 'webp':
      return sharp(svg).webp({ quality: 85 }).toBuffer();
    case 'tiff':
      return sharp(svg).flatten({ background: '#ffffff' }).tiff({ compression: 'lzw' }).toBuffer();
    case 'avif':
      return sharp(svg).flatten({ background: '#ffffff' }).avif({ quality: 60, effort: 2 }).toBuffer();
    case 'grey-png':
      return sharp(svg).flatten({ background: '#ffffff' }).toColourspace('b-w').png().toBuffer();
    case 'png16':
      return toPng16(first);
    case 'jpeg-exif6':
      return sharp(svg).flatten({ background: '#ffffff' }).jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toBuffer();
    case 'gif': {
      const rendered = await Promise.all(list.map(renderRgba));
      const { width, height } = rendered[0] ?? { width: 0, height: 0 };
      if (rendered.some((f) => f.width !== width || f.height !== height)) throw new Error('GIF frames differ in size');
      return sharp(Buffer.concat(rendered.map((f) => f.data)), {
        raw: { width, height: height * rendered.length, channels: 4, pageHeight: height },
      })
        .gif({ loop: 0, delay: rendered.map(() => 200) })
        .toBuffer();
    }
  }
}

export interface SyntheticImage {
  name: string;
  kind: SyntheticKind;
  width: number;
  height: number;
}

/** The i-th image of a spec: kind, size and file name, without rendering it. */
export function syntheticImage(i: number, spec: SyntheticSpec = {}): SyntheticImage {
  const kinds = spec.kinds ?? SYNTHETIC_KINDS;
  const kind = kinds[i % kinds.length];
  if (kind === undefined) throw new Error('spec.kinds is empty');
  const min = spec.minSize ?? 64;
  const max = Math.max(min, spec.maxSize ?? 256);
  const width = Math.round(min + (max - min) * spread(i + 1, 0.618034));
  const height = Math.round(min + (max - min) * spread(i + 1, 0.754878));
  const name = `${String(i + 1).padStart(3, '0')}-${kind}-${width}x${height}.${SYNTHETIC_EXTENSION[kind]}`;
  return { name, kind, width, height };
}

/** Writes the spec's images into dir (created if missing) and returns their file names in order. */
export async function writeSyntheticImages(dir: string, spec: SyntheticSpec = {}): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const count = spec.count ?? (spec.kinds ?? SYNTHETIC_KINDS).length;
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    // One at a time: sharp already uses several threads per image, and memory stays flat for big specs.
    const image = syntheticImage(i, spec);
    const { kind, width, height } = image;
    const frames =
      kind === 'gif'
        ? Array.from({ length: spec.gifFrames ?? 3 }, (_, frame) => sceneSvg(width, height, i, { frame, flat: true }))
        : sceneSvg(width, height, i, { transparent: kind === 'png-alpha' });
    await writeFile(join(dir, image.name), await encodeSvgAs(kind, frames));
    names.push(image.name);
  }
  return names;
}
