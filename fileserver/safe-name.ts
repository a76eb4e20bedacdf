/**
 * Output file names built from client input. The result is a single path segment that cannot
 * start with a dot (no `..`, no hidden files like `.tmp`) and whose extension matches the bytes.
 */
import { EXTENSION, type ImageFormat } from '../common/image-format.js';

export const MAX_STEM_CHARS = 120;

function sanitizeStem(text: string): string {
  return text
    .replace(/[^A-Za-z0-9._-]/gu, '-')
    .slice(0, MAX_STEM_CHARS)
    .replace(/^[.-]+/, '')
    .replace(/\.+$/, '');
}

/** The safe stem of a requested name, or '' when nothing usable is left. */
export function requestedStem(requested: string | undefined): string {
  // Both separators: a Windows-style `..\\evil` is one segment on POSIX but still hostile.
  const base = (requested ?? '').split(/[\\/]/).pop() ?? '';
  const dot = base.lastIndexOf('.');
  return sanitizeStem(dot > 0 ? base.slice(0, dot) : base);
}

export function safeOutputName(requested: string | undefined, format: ImageFormat, fallbackStem: string): string {
  const stem = requestedStem(requested) || sanitizeStem(fallbackStem) || 'upload';
  return `${stem}.${EXTENSION[format]}`;
}
