/**
 * Image type detection from magic bytes. The declared mimetype and file name come from the
 * client and are never trusted; only the first bytes decide what a file is.
 */
import { IMAGE_FORMATS, type ImageFormat } from '../common/image-format.js';

/** Enough bytes to see every signature below, including an AVIF ftyp box with a few brands. */
export const SNIFF_BYTES = 256;

const AVIF_BRANDS = new Set(['avif', 'avis']);

function startsWith(head: Uint8Array, signature: readonly number[], offset = 0): boolean {
  if (head.length < offset + signature.length) return false;
  return signature.every((byte, i) => head[offset + i] === byte);
}

function ascii(head: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...head.subarray(start, end));
}

/** ISO BMFF: `ftyp` box first, brand list = major brand + compatible brands (minor version skipped). */
function isAvif(head: Uint8Array): boolean {
  if (head.length < 12 || ascii(head, 4, 8) !== 'ftyp') return false;
  if (AVIF_BRANDS.has(ascii(head, 8, 12))) return true;
  const boxSize = new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(0);
  // size 0 means "to the end of the file"; anything below the header size is malformed
  const end = boxSize === 0 ? head.length : Math.min(boxSize, head.length);
  for (let at = 16; at + 4 <= end; at += 4) {
    if (AVIF_BRANDS.has(ascii(head, at, at + 4))) return true;
  }
  return false;
}

export function detectImageType(head: Uint8Array): ImageFormat | undefined {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (head.length >= 6 && (ascii(head, 0, 6) === 'GIF87a' || ascii(head, 0, 6) === 'GIF89a')) return 'gif';
  if (head.length >= 12 && ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') return 'webp';
  if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (isAvif(head)) return 'avif';
  return undefined;
}

/** A short human description of bytes that are not an image, for error messages. */
export function describeHead(head: Uint8Array): string {
  if (head.length === 0) return 'the upload is empty';
  const sample = head.subarray(0, 16);
  const printable = sample.every((b) => (b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d);
  if (printable) return `the first bytes look like text ${JSON.stringify(ascii(sample, 0, sample.length))}`;
  const hex = Array.from(sample, (b) => b.toString(16).padStart(2, '0')).join(' ');
  return `the first bytes are ${hex}`;
}

export const SUPPORTED_FORMATS_TEXT = IMAGE_FORMATS.join(', ');
