/**
 * The image work itself: invert RGB, keep alpha, apply EXIF orientation, keep the format,
 * greyscale, 16-bit depth and animation frames. This is the hot path and the benchmark's raw
 * baseline, so it stays one header read plus one sharp pipeline.
 */
import sharp, { type Metadata, type Sharp, type SharpOptions } from 'sharp';
import { PipelineError } from '../common/errors.js';
import { IMAGE_FORMATS, type ImageFormat } from '../common/image-format.js';

export interface InvertOptions {
  /** Width x height limit (summed over frames for animations), checked before decoding. */
  maxPixels: number;
  /** The memory the inversion may use; a larger need is RESOURCES_EXCEEDED (checked on the header). */
  maxMemMb?: number;
}

/**
 * Peak memory of one inversion per pixel of the image (all frames), by decoder, measured on
 * 42 Mpx images with sharp 0.35 (peak RSS minus the process before): JPEG 6.7 bytes, PNG 3.2,
 * TIFF 4.7, WebP 18 (decoded whole, as RGBA). Rounded up; AVIF and GIF decode whole like WebP.
 */
const BYTES_PER_PIXEL: Record<ImageFormat, number> = { jpeg: 7, png: 4, tiff: 5, webp: 18, avif: 18, gif: 18 };
const BASE_MEM_MB = 32;

/** The memory an inversion of this image needs, in MB, from its header alone. */
export function estimateMemMb(meta: { width?: number; height?: number; pages?: number; depth?: string }, format: ImageFormat): number {
  const pixels = (meta.width ?? 0) * (meta.height ?? 0) * Math.max(1, meta.pages ?? 1);
  const deep = meta.depth === 'ushort' ? 2 : 1;
  return Math.ceil((pixels * BYTES_PER_PIXEL[format] * deep) / 2 ** 20) + BASE_MEM_MB;
}

export interface InvertedImage {
  data: Buffer;
  format: ImageFormat;
  width: number;
  /** Height of one frame for animated images (sharp stacks frames vertically). */
  height: number;
  channels: number;
  /** sharp depth name: 'uchar' (8-bit) or 'ushort' (16-bit). */
  depth: string;
}

/** Formats sharp (or a full libvips) can recognise but the pipeline will not handle, by magic bytes. */
const UNSUPPORTED_SIGNATURES: ReadonlyArray<{ name: string; at: number; bytes: string }> = [
  { name: 'pdf', at: 0, bytes: '%PDF' },
  { name: 'bmp', at: 0, bytes: 'BM' },
  { name: 'psd', at: 0, bytes: '8BPS' },
  { name: 'jpeg xl', at: 0, bytes: '\xff\x0a' },
  { name: 'jpeg xl', at: 4, bytes: 'JXL ' },
  { name: 'jpeg 2000', at: 4, bytes: 'jP  ' },
  { name: 'jpeg 2000', at: 0, bytes: '\xff\x4f\xff\x51' },
];

function sniffUnsupported(input: Buffer): string | undefined {
  return UNSUPPORTED_SIGNATURES.find(({ at, bytes }) => input.subarray(at, at + bytes.length).toString('latin1') === bytes)
    ?.name;
}

/** The output format for a decoded input: the same one, or undefined when the pipeline does not handle it. */
export function outputFormatOf(meta: Pick<Metadata, 'format' | 'compression'>): ImageFormat | undefined {
  switch (meta.format) {
    case 'jpeg':
    case 'png':
    case 'webp':
    case 'gif':
    case 'tiff':
      return meta.format;
    case 'heif':
      // sharp reports AVIF as heif; HEIC (hevc) has no encoder in the prebuilt libvips.
      return meta.compression === 'av1' ? 'avif' : undefined;
    default:
      return undefined;
  }
}

function encode(pipeline: Sharp, format: ImageFormat): Sharp {
  switch (format) {
    case 'jpeg':
      return pipeline.jpeg({ quality: 90 });
    case 'png':
      return pipeline.png();
    case 'webp':
      return pipeline.webp({ quality: 90 });
    case 'gif':
      // The input palette holds the un-inverted colours; reusing it garbles the output.
      return pipeline.gif({ reuse: false });
    case 'tiff':
      // sharp's default TIFF compression is JPEG, which drops alpha and 16-bit depth.
      return pipeline.tiff({ compression: 'lzw', predictor: 'horizontal' });
    case 'avif':
      // effort 2 is ~15x faster than the default 4 for a ~5% larger file.
      return pipeline.avif({ quality: 60, effort: 2 });
  }
}

function imageError(err: unknown, maxPixels: number): PipelineError {
  if (err instanceof PipelineError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(message)) {
    return new PipelineError('IMAGE_TOO_LARGE', `the image has more than ${maxPixels} pixels (all frames counted)`, {
      cause: err,
    });
  }
  if (/unsupported image format/i.test(message)) {
    return new PipelineError('IMAGE_UNDECODABLE', 'the bytes are not an image in any supported format', { cause: err });
  }
  // libvips repeats its error lines; the first one says what went wrong.
  const first = message.split('\n', 1)[0] ?? message;
  return new PipelineError('IMAGE_UNDECODABLE', `the image could not be decoded (damaged or truncated?): ${first}`, {
    cause: err,
  });
}

export async function invertImage(input: Buffer, opts: InvertOptions): Promise<InvertedImage> {
  // Untrusted input: reject on any decoder warning (e.g. truncation) and cap pixels before decoding.
  // sharp reads a limit of 0 as "no limit"; never let a bad value switch the guard off.
  const base: SharpOptions = { failOn: 'warning', limitInputPixels: Math.max(1, Math.floor(opts.maxPixels)) };
  const sniffed = sniffUnsupported(input);
  if (sniffed !== undefined) {
    throw new PipelineError('IMAGE_UNSUPPORTED_FORMAT', `${sniffed} images are not supported (${IMAGE_FORMATS.join(', ')} are)`);
  }
  try {
    const meta = await sharp(input, base).metadata();
    const format = outputFormatOf(meta);
    if (format === undefined) {
      const name = meta.format === 'heif' ? `heif (${meta.compression ?? 'unknown'})` : meta.format;
      throw new PipelineError('IMAGE_UNSUPPORTED_FORMAT', `${name} images are not supported (${IMAGE_FORMATS.join(', ')} are)`);
    }
    const needMemMb = estimateMemMb(meta, format);
    if (opts.maxMemMb !== undefined && needMemMb > opts.maxMemMb) {
      throw new PipelineError('RESOURCES_EXCEEDED', `this ${meta.width}x${meta.height} ${format} needs about ${needMemMb} MB; its task has ${opts.maxMemMb} MB`, { needMemMb });
    }
    const animated = format === 'gif' || format === 'webp';
    // Only PNG and TIFF can store 16 bits per sample; elsewhere sharp writes 8 bits anyway.
    const deep = meta.depth === 'ushort' && (format === 'png' || format === 'tiff');
    const grey = meta.space === 'b-w' || meta.space === 'grey16';

    let pipeline = sharp(input, { ...base, animated, autoOrient: true }).negate({ alpha: false });
    // sharp outputs 8-bit sRGB unless told otherwise: that would triple greyscale and halve depth.
    if (grey) pipeline = pipeline.toColourspace(deep ? 'grey16' : 'b-w');
    else if (deep) pipeline = pipeline.toColourspace('rgb16');

    const { data, info } = await encode(pipeline, format).toBuffer({ resolveWithObject: true });
    return {
      data,
      format,
      width: info.width,
      height: info.pageHeight ?? info.height,
      channels: info.channels,
      depth: deep ? 'ushort' : 'uchar',
    };
  } catch (err) {
    throw imageError(err, opts.maxPixels);
  }
}
