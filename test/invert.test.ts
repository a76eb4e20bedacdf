import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { PipelineError, type ErrorCode } from '../common/errors.js';
import { estimateMemMb, invertImage, outputFormatOf, type InvertedImage } from '../executor/invert.js';
import { encodeSvgAs, sceneSvg, SYNTHETIC_KINDS, writeSyntheticImages, type SyntheticKind } from '../bench/synthetic-images.js';

const LIMITS = { maxPixels: 10_000_000 };

interface Raw {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}

/** Decoded 8-bit pixels exactly as stored (sharp would otherwise widen greyscale to sRGB). */
async function raw8(input: Buffer, opts: { grey?: boolean } = {}): Promise<Raw> {
  let image = sharp(input);
  if (opts.grey === true) image = image.toColourspace('b-w');
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

async function raw16(input: Buffer, colourspace: 'rgb16' | 'grey16'): Promise<{ values: Uint16Array; channels: number }> {
  const { data, info } = await sharp(input).toColourspace(colourspace).raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
  const copy = Uint8Array.from(data); // aligned copy for the Uint16Array view
  return { values: new Uint16Array(copy.buffer), channels: info.channels };
}

/** Largest and mean |expected - actual| over colour samples (alpha handled by the caller). */
function diff(source: Raw, output: Raw, colourChannels: number): { max: number; mean: number } {
  assert.equal(output.data.length, source.data.length, 'same pixel count and channels');
  let max = 0;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < source.data.length; i++) {
    if (i % source.channels >= colourChannels) continue;
    const d = Math.abs(255 - (source.data[i] ?? 0) - (output.data[i] ?? 0));
    max = Math.max(max, d);
    sum += d;
    n++;
  }
  return { max, mean: sum / n };
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof PipelineError, `expected a PipelineError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

const scene = (kind: SyntheticKind, width = 96, height = 64, seed = 5): Promise<Buffer> =>
  encodeSvgAs(kind, sceneSvg(width, height, seed, { transparent: kind === 'png-alpha' }));

test('8-bit RGBA PNG: RGB inverted exactly, alpha untouched (also where alpha is 0)', async () => {
  const pixels = Buffer.from([10, 20, 30, 0, 40, 50, 60, 255, 70, 80, 90, 128, 0, 255, 7, 1]);
  const png = await sharp(pixels, { raw: { width: 2, height: 2, channels: 4 } }).png().toBuffer();
  const out = await invertImage(png, LIMITS);
  assert.deepEqual([out.format, out.width, out.height, out.channels, out.depth], ['png', 2, 2, 4, 'uchar']);
  const { data } = await raw8(out.data);
  assert.deepEqual([...data], [245, 235, 225, 0, 215, 205, 195, 255, 185, 175, 165, 128, 255, 0, 248, 1]);
});

test('synthetic PNG with alpha: every RGB sample is 255-x and alpha is identical', async () => {
  const png = await scene('png-alpha');
  const source = await raw8(png);
  const output = await raw8((await invertImage(png, LIMITS)).data);
  assert.equal(source.channels, 4);
  assert.deepEqual(diff(source, output, 3), { max: 0, mean: 0 });
  for (let i = 3; i < source.data.length; i += 4) assert.equal(output.data[i], source.data[i], `alpha at sample ${i}`);
});

// Lossy encoders: the output is compared with the decoded input, within a tolerance.
for (const [kind, maxDiff, meanDiff] of [
  ['jpeg', 40, 3],
  ['webp', 60, 4],
  ['avif', 60, 5],
  ['gif', 16, 1],
  ['tiff', 0, 0],
] as const) {
  test(`${kind}: colours inverted within ±${maxDiff} (mean ${meanDiff})`, async () => {
    const input = await scene(kind, 120, 80);
    const source = await raw8(input);
    const output = await raw8((await invertImage(input, LIMITS)).data);
    const d = diff(source, output, 3);
    assert.ok(d.max <= maxDiff && d.mean <= meanDiff, `max ${d.max}, mean ${d.mean.toFixed(2)}`);
  });
}

test('greyscale PNG stays one band and is inverted exactly', async () => {
  const png = await scene('grey-png');
  assert.equal((await sharp(png).metadata()).channels, 1);
  const out = await invertImage(png, LIMITS);
  assert.equal(out.channels, 1);
  const meta = await sharp(out.data).metadata();
  assert.deepEqual([meta.channels, meta.space], [1, 'b-w']);
  const d = diff(await raw8(png, { grey: true }), await raw8(out.data, { grey: true }), 1);
  assert.deepEqual(d, { max: 0, mean: 0 });
});

test('greyscale with alpha PNG stays two bands, alpha untouched', async () => {
  const pixels = Buffer.from([0, 255, 100, 128, 200, 0, 255, 7]);
  const png = await sharp(pixels, { raw: { width: 2, height: 2, channels: 2 } }).toColourspace('b-w').png().toBuffer();
  assert.equal((await sharp(png).metadata()).channels, 2);
  const out = await invertImage(png, LIMITS);
  assert.equal(out.channels, 2);
  // Read back as RGBA (sharp's b-w raw output would drop alpha): R carries the grey value.
  const { data, channels } = await raw8(out.data);
  assert.equal(channels, 4);
  const greyAlpha = [0, 1, 2, 3].flatMap((p) => [data[p * 4], data[p * 4 + 3]]);
  assert.deepEqual(greyAlpha, [255, 255, 155, 128, 55, 0, 0, 7]);
});

test('greyscale JPEG stays a one-band JPEG', async () => {
  const jpeg = await sharp(await scene('grey-png')).toColourspace('b-w').jpeg({ quality: 95 }).toBuffer();
  assert.equal((await sharp(jpeg).metadata()).channels, 1);
  const out = await invertImage(jpeg, LIMITS);
  const meta = await sharp(out.data).metadata();
  assert.deepEqual([out.format, out.channels, meta.channels, meta.space], ['jpeg', 1, 1, 'b-w']);
  const d = diff(await raw8(jpeg, { grey: true }), await raw8(out.data, { grey: true }), 1);
  assert.ok(d.max <= 24 && d.mean <= 2, `max ${d.max}, mean ${d.mean}`);
});

test('16-bit RGB PNG stays 16-bit and every sample becomes 65535-x', async () => {
  const values = Uint16Array.from({ length: 4 * 3 * 3 }, (_, i) => (i * 1871 + 7) % 65536);
  const png = await sharp(values, { raw: { width: 4, height: 3, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
  assert.equal((await sharp(png).metadata()).depth, 'ushort');
  const out = await invertImage(png, LIMITS);
  assert.equal(out.depth, 'ushort');
  const meta = await sharp(out.data).metadata();
  assert.deepEqual([meta.depth, meta.space, meta.bitsPerSample], ['ushort', 'rgb16', 16]);
  const back = await raw16(out.data, 'rgb16');
  assert.deepEqual([...back.values], [...values].map((v) => 65535 - v));
});

test('16-bit greyscale+alpha PNG stays grey16 with two bands, alpha untouched', async () => {
  const values = Uint16Array.from([0, 65535, 1000, 30000, 65535, 1, 40000, 0]);
  const png = await sharp(values, { raw: { width: 2, height: 2, channels: 2 } }).toColourspace('grey16').png().toBuffer();
  const out = await invertImage(png, LIMITS);
  const meta = await sharp(out.data).metadata();
  assert.deepEqual([out.channels, out.depth, meta.space, meta.depth], [2, 'ushort', 'grey16', 'ushort']);
  const back = await raw16(out.data, 'grey16');
  assert.deepEqual([...back.values], [65535, 65535, 64535, 30000, 0, 1, 25535, 0]);
});

test('16-bit TIFF stays 16-bit', async () => {
  const values = Uint16Array.from({ length: 2 * 2 * 3 }, (_, i) => i * 5000 + 3);
  const tiff = await sharp(values, { raw: { width: 2, height: 2, channels: 3 } }).toColourspace('rgb16').tiff({ compression: 'lzw' }).toBuffer();
  const out = await invertImage(tiff, LIMITS);
  assert.equal(out.format, 'tiff');
  assert.equal((await sharp(out.data).metadata()).depth, 'ushort');
  assert.deepEqual([...(await raw16(out.data, 'rgb16')).values], [...values].map((v) => 65535 - v));
});

test('EXIF orientation 6: output is rotated upright, dimensions swapped, tag gone', async () => {
  // 40x20 black with a red block in the stored top-left; orientation 6 = rotate 90 degrees clockwise.
  const stored = await sharp({ create: { width: 40, height: 20, channels: 3, background: '#000000' } })
    .composite([{ input: { create: { width: 10, height: 6, channels: 3, background: '#ff0000' } }, left: 0, top: 0 }])
    .jpeg({ quality: 95 })
    .withMetadata({ orientation: 6 })
    .toBuffer();
  const out = await invertImage(stored, LIMITS);
  assert.deepEqual([out.width, out.height], [20, 40]);
  const meta = await sharp(out.data).metadata();
  assert.deepEqual([meta.width, meta.height, meta.orientation], [20, 40, undefined]);
  const { data, width } = await raw8(out.data);
  const at = (x: number, y: number) => [...data.subarray((y * width + x) * 3, (y * width + x) * 3 + 3)];
  const near = (actual: number[], expected: number[]) =>
    assert.ok(actual.every((v, i) => Math.abs(v - (expected[i] ?? 0)) <= 12), `${actual} vs ${expected}`);
  near(at(19, 0), [0, 255, 255]); // red block, inverted to cyan, now top-right
  near(at(0, 0), [255, 255, 255]); // black, inverted to white
  near(at(0, 39), [255, 255, 255]);
});

test('the synthetic EXIF-6 JPEG comes out with swapped dimensions', async () => {
  const input = await encodeSvgAs('jpeg-exif6', sceneSvg(90, 50, 1));
  const out = await invertImage(input, LIMITS);
  assert.deepEqual([out.format, out.width, out.height], ['jpeg', 50, 90]);
});

test('every synthetic kind keeps its format', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'invert-formats-'));
  try {
    const names = await writeSyntheticImages(dir, { minSize: 40, maxSize: 90 });
    assert.equal(names.length, SYNTHETIC_KINDS.length);
    const expected: Record<SyntheticKind, string> = {
      jpeg: 'jpeg',
      'png-alpha': 'png',
      webp: 'webp',
      gif: 'gif',
      tiff: 'tiff',
      avif: 'avif',
      'grey-png': 'png',
      png16: 'png',
      'jpeg-exif6': 'jpeg',
    };
    for (const [i, name] of names.entries()) {
      const kind = SYNTHETIC_KINDS[i] as SyntheticKind;
      const out: InvertedImage = await invertImage(await readFile(join(dir, name)), LIMITS);
      assert.equal(out.format, expected[kind], name);
      const meta = await sharp(out.data).metadata();
      assert.equal(outputFormatOf(meta), expected[kind], `${name} decodes as ${meta.format}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('animated GIF keeps every frame, its delays and loop count, with colours inverted', async () => {
  const frames = [0, 1, 2, 3].map((frame) => sceneSvg(60, 40, 3, { frame, flat: true }));
  const gif = await encodeSvgAs('gif', frames);
  const before = await sharp(gif).metadata();
  assert.equal(before.pages, 4);
  const out = await invertImage(gif, LIMITS);
  assert.deepEqual([out.format, out.width, out.height], ['gif', 60, 40]);
  const after = await sharp(out.data).metadata();
  assert.deepEqual([after.pages, after.delay, after.loop], [4, before.delay, before.loop]);
  const source = await sharp(gif, { animated: true }).raw().toBuffer({ resolveWithObject: true });
  const output = await sharp(out.data, { animated: true }).raw().toBuffer({ resolveWithObject: true });
  assert.equal(output.info.height, 160, 'frames stacked');
  const d = diff({ ...source.info, data: source.data }, { ...output.info, data: output.data }, 3);
  assert.ok(d.max <= 40 && d.mean <= 2, `max ${d.max}, mean ${d.mean}`);
});

test('animated WebP keeps every frame', async () => {
  const gif = await encodeSvgAs('gif', [0, 1, 2].map((frame) => sceneSvg(50, 30, 2, { frame, flat: true })));
  const webp = await sharp(gif, { animated: true }).webp({ quality: 90 }).toBuffer();
  const out = await invertImage(webp, LIMITS);
  const meta = await sharp(out.data).metadata();
  assert.deepEqual([out.format, out.height, meta.pages], ['webp', 30, 3]);
});

test('bytes that are not an image -> IMAGE_UNDECODABLE', async () => {
  await rejectsWith(invertImage(Buffer.from('<html>not found</html>'), LIMITS), 'IMAGE_UNDECODABLE');
  await rejectsWith(invertImage(Buffer.alloc(0), LIMITS), 'IMAGE_UNDECODABLE');
});

for (const kind of ['jpeg', 'png-alpha'] as const) {
  test(`truncated ${kind} -> IMAGE_UNDECODABLE`, async () => {
    const whole = await scene(kind, 256, 256);
    await invertImage(whole, LIMITS); // the untruncated file is fine
    await rejectsWith(invertImage(whole.subarray(0, Math.floor(whole.length * 0.6)), LIMITS), 'IMAGE_UNDECODABLE');
  });
}

test('more pixels than maxPixels -> IMAGE_TOO_LARGE, animated frames counted together', async () => {
  const png = await scene('jpeg', 100, 50);
  await rejectsWith(invertImage(png, { maxPixels: 4999 }), 'IMAGE_TOO_LARGE');
  await invertImage(png, { maxPixels: 5000 });
  const gif = await encodeSvgAs('gif', [0, 1, 2].map((frame) => sceneSvg(20, 10, 1, { frame, flat: true })));
  await rejectsWith(invertImage(gif, { maxPixels: 2 * 200 }), 'IMAGE_TOO_LARGE');
  await invertImage(gif, { maxPixels: 3 * 200 });
});

test('SVG and PDF -> IMAGE_UNSUPPORTED_FORMAT', async () => {
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
  await rejectsWith(invertImage(svg, LIMITS), 'IMAGE_UNSUPPORTED_FORMAT');
  await rejectsWith(invertImage(Buffer.from('%PDF-1.7\n1 0 obj\n<<>>\nendobj\n'), LIMITS), 'IMAGE_UNSUPPORTED_FORMAT');
});

test('outputFormatOf: AVIF is heif/av1, HEIC and unknown formats are not handled', () => {
  assert.equal(outputFormatOf({ format: 'heif', compression: 'av1' }), 'avif');
  assert.equal(outputFormatOf({ format: 'heif', compression: 'hevc' }), undefined);
  assert.equal(outputFormatOf({ format: 'svg' }), undefined);
  assert.equal(outputFormatOf({ format: 'jpeg' }), 'jpeg');
});

describe('memory sizing', () => {
  it('an image that needs more memory than its task has is RESOURCES_EXCEEDED, saying how much it needs', async () => {
    const input = await sharp({ create: { width: 2000, height: 1500, channels: 3, background: '#336699' } }).jpeg().toBuffer();
    const need = estimateMemMb({ width: 2000, height: 1500 }, 'jpeg');
    assert.equal(need, Math.ceil((3e6 * 7) / 2 ** 20) + 32);
    await assert.rejects(
      invertImage(input, { maxPixels: 1e8, maxMemMb: need - 1 }),
      (err: unknown) => err instanceof PipelineError && err.code === 'RESOURCES_EXCEEDED' && err.needMemMb === need,
    );
    const ok = await invertImage(input, { maxPixels: 1e8, maxMemMb: need });
    assert.equal(ok.width, 2000);
  });

  it('whole-image decoders and 16-bit samples need more per pixel', () => {
    assert.ok(estimateMemMb({ width: 1000, height: 1000 }, 'webp') > estimateMemMb({ width: 1000, height: 1000 }, 'jpeg'));
    assert.equal(estimateMemMb({ width: 1000, height: 1000, depth: 'ushort' }, 'png') - 32, 2 * (estimateMemMb({ width: 1000, height: 1000 }, 'png') - 32));
    assert.equal(estimateMemMb({ width: 100, height: 100, pages: 10 }, 'gif'), estimateMemMb({ width: 100, height: 1000 }, 'gif'));
  });
});
