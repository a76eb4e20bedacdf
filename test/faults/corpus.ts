/**
 * The fault suite's sources: distinct lossless PNGs generated from their index, so each output
 * can be checked pixel for pixel against the inversion of its own source.
 */
import sharp from 'sharp';

export const SIZE = 32;

/** RGB pixels of image `i`: a pattern no two indexes share. */
export function sourcePixels(i: number): Buffer {
  const data = Buffer.alloc(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const o = (y * SIZE + x) * 3;
      data[o] = (x * 8 + i) & 0xff;
      data[o + 1] = (y * 8 + (i >> 8) * 31) & 0xff;
      data[o + 2] = (x * y + i * 7) & 0xff;
    }
  }
  return data;
}

export async function makeCorpus(count: number): Promise<Map<string, Buffer>> {
  const images = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const png = await sharp(sourcePixels(i), { raw: { width: SIZE, height: SIZE, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer();
    images.set(`src-${String(i).padStart(4, '0')}.png`, png);
  }
  return images;
}

/** True when `output` decodes to exactly 255 - source, channel by channel. */
export async function isInversionOf(output: Buffer, index: number): Promise<boolean> {
  const { data, info } = await sharp(output).raw().toBuffer({ resolveWithObject: true });
  if (info.width !== SIZE || info.height !== SIZE || info.channels !== 3) return false;
  const source = sourcePixels(index);
  for (let k = 0; k < source.length; k++) if (data[k] !== 255 - source[k]!) return false;
  return true;
}
