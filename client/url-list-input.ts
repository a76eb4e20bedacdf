/**
 * Reading an images.txt for `enqueue` and `batch`, with one set of messages and exit codes for
 * bad input, so the two commands never answer the same file differently:
 * - the file cannot be read (missing, a directory, ...): UrlListError, exit 2;
 * - malformed or duplicate lines: one line each on stderr, skipped;
 * - no URL at all, or no valid one: `noEntriesProblem`, exit 2.
 */
import { readFile } from 'node:fs/promises';
import type { ParsedUrlList } from './parse-url-list.js';

export const BAD_INPUT_EXIT_CODE = 2;
const SHOWN_TEXT_CHARS = 200;

export class UrlListError extends Error {
  override readonly name = 'UrlListError';
  readonly exitCode = BAD_INPUT_EXIT_CODE;
}

/** What the user called the list: `<stdin>` for `-`. */
export function listLabel(file: string): string {
  return file === '-' ? '<stdin>' : file;
}

/** The list's bytes: decoding is the parser's, line by line, so a bad byte names its line. */
export async function readUrlList(file: string, stdin: AsyncIterable<unknown> = process.stdin): Promise<Buffer> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Uint8Array));
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(file);
  } catch (err) {
    throw new UrlListError(unreadableMessage(file, (err as NodeJS.ErrnoException).code, err));
  }
}

/** Pure, for tests: the message for a list that cannot be read. */
export function unreadableMessage(file: string, code: string | undefined, err?: unknown): string {
  if (code === 'ENOENT') return `${file}: no such file (expected a text file with one image URL per line)`;
  if (code === 'EISDIR') return `${file} is a directory, not a list of URLs`;
  if (code === 'EACCES') return `${file}: permission denied`;
  return `cannot read ${file}: ${err instanceof Error ? err.message : String(code)}`;
}

/** One stderr line per skipped line, `file:line: why: text`. */
export function problemLines(label: string, list: ParsedUrlList): string[] {
  return [
    ...list.invalid.map(({ line, reason, text }) => ({ line, text: `${label}:${line}: ${reason}: ${printable(text)}` })),
    ...list.duplicates.map(({ line, url, firstLine }) => ({ line, text: `${label}:${line}: skipped duplicate of line ${firstLine}: ${url}` })),
  ]
    .sort((a, b) => a.line - b.line)
    .map(({ text }) => text);
}

/** Why a list with no entries cannot run, or undefined when it has some. */
export function noEntriesProblem(label: string, list: ParsedUrlList): string | undefined {
  if (list.entries.length > 0) return undefined;
  if (list.invalid.length > 0) return `${label}: no valid image URL: every URL line is invalid (see above)`;
  return `${label}: no image URLs in it (one URL per line; '#' starts a comment)`;
}

/** Lines echoed back may hold terminal escapes or be megabytes long. */
export function printable(text: string): string {
  const short = text.length > SHOWN_TEXT_CHARS ? `${text.slice(0, SHOWN_TEXT_CHARS)}...` : text;
  return short.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
