/**
 * Parses an images.txt: one URL per line, `#` comments, relative lines resolved against a base
 * URL (the fileserver's /images/) so one file serves both the local stack and docker compose.
 */

export interface UrlEntry {
  line: number;
  url: string;
}

export interface InvalidLine {
  line: number;
  text: string;
  reason: string;
}

export interface DuplicateLine {
  line: number;
  url: string;
  firstLine: number;
}

export interface ParsedUrlList {
  entries: UrlEntry[];
  invalid: InvalidLine[];
  duplicates: DuplicateLine[];
}

export const MAX_URL_LENGTH = 2048;

const ALLOWED_PROTOCOLS = new Set(['http:', 'https:']);
// C0 controls except tab (tab is whitespace, reported as such), DEL and C1 controls.
const CONTROL_CHARS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;
// A `#` only starts a comment after whitespace; `a.png#frag` is a fragment, not a comment.
const TRAILING_COMMENT = /\s+#.*$/;

/** One line's verdict: a normalized URL, or why it is not one. */
type LineResult = { ok: true; url: string } | { ok: false; reason: string };

/**
 * `input` as read from the file: bytes are decoded line by line and a line that is not UTF-8 is
 * an invalid line (a lenient decode would queue a different URL, with U+FFFD in it).
 */
export function parseUrlList(input: string | Uint8Array, baseUrl: string): ParsedUrlList {
  const lines = typeof input === 'string' ? input.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/) : decodeLines(input);
  return parseEntries(lines, baseUrl, (raw) => {
    if (typeof raw !== 'string') return { shown: raw.shown.trim(), candidate: '', reason: 'not valid UTF-8' };
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return undefined;
    return { shown: trimmed, candidate: trimmed.replace(TRAILING_COMMENT, '') };
  });
}

/**
 * A list given as an array (the library's `enqueue`): each item is one URL, so nothing is a
 * comment or skipped silently; an empty item is invalid. `line` is the item's index + 1.
 */
export function parseUrlItems(items: readonly string[], baseUrl: string): ParsedUrlList {
  return parseEntries(items, baseUrl, (raw) => ({ shown: raw.trim(), candidate: raw.trim() }));
}

/** What of a line is the URL (`candidate`), or why it cannot be one before parsing (`reason`). */
interface PickedLine {
  shown: string;
  candidate: string;
  reason?: string;
}

/** Shared by both forms: `pick` says what of a line is the URL, or undefined to skip it. */
function parseEntries<T>(lines: readonly T[], baseUrl: string, pick: (raw: T) => PickedLine | undefined): ParsedUrlList {
  const base = directoryUrl(baseUrl);
  const result: ParsedUrlList = { entries: [], invalid: [], duplicates: [] };
  const firstLineOf = new Map<string, number>();
  lines.forEach((raw, index) => {
    const line = index + 1;
    const picked = pick(raw);
    if (picked === undefined) return;
    const verdict: LineResult =
      picked.reason !== undefined ? { ok: false, reason: picked.reason } : picked.candidate === '' ? { ok: false, reason: 'empty' } : parseLine(picked.candidate, base);
    if (!verdict.ok) {
      result.invalid.push({ line, text: picked.shown, reason: verdict.reason });
      return;
    }
    const firstLine = firstLineOf.get(verdict.url);
    if (firstLine !== undefined) {
      result.duplicates.push({ line, url: verdict.url, firstLine });
      return;
    }
    firstLineOf.set(verdict.url, line);
    result.entries.push({ line, url: verdict.url });
  });
  return result;
}

function parseLine(text: string, base: URL): LineResult {
  if (text.length > MAX_URL_LENGTH) return { ok: false, reason: `longer than ${MAX_URL_LENGTH} characters` };
  if (CONTROL_CHARS.test(text)) return { ok: false, reason: 'contains control characters' };
  if (/\s/.test(text)) return { ok: false, reason: 'contains whitespace (encode spaces as %20)' };

  let url: URL;
  try {
    url = new URL(text, base);
  } catch {
    return { ok: false, reason: 'not a valid URL' };
  }
  if (!ALLOWED_PROTOCOLS.has(url.protocol)) {
    return { ok: false, reason: `unsupported scheme "${url.protocol.slice(0, -1)}" (only http and https)` };
  }
  if (url.username !== '' || url.password !== '') {
    return { ok: false, reason: 'contains credentials (user:pass@); they would be stored in the queue' };
  }
  // The fragment never reaches the server, so `a.png#x` and `a.png` are the same image.
  url.hash = '';
  if (url.href.length > MAX_URL_LENGTH) return { ok: false, reason: `longer than ${MAX_URL_LENGTH} characters once resolved` };
  return { ok: true, url: url.href };
}

/** A line that is not UTF-8, with its bytes shown as the lenient decoding would show them. */
interface UndecodableLine {
  shown: string;
}

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenient = new TextDecoder('utf-8', { ignoreBOM: true });
const CR = 0x0d;
const LF = 0x0a;

/**
 * Splits bytes at CRLF, CR or LF, as the string path does, and decodes each line strictly.
 * Splitting before decoding is safe: CR and LF never occur inside a UTF-8 multi-byte sequence.
 */
function decodeLines(bytes: Uint8Array): (string | UndecodableLine)[] {
  const out: (string | UndecodableLine)[] = [];
  let start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const push = (end: number) => {
    const part = bytes.subarray(start, end);
    try {
      out.push(strict.decode(part));
    } catch {
      out.push({ shown: lenient.decode(part) });
    }
  };
  for (let i = start; i < bytes.length; i++) {
    const b = bytes[i];
    if (b !== CR && b !== LF) continue;
    push(i);
    if (b === CR && bytes[i + 1] === LF) i++;
    start = i + 1;
  }
  push(bytes.length);
  return out;
}

/** A base without a trailing slash would lose its last segment when resolving `cat.png`. */
function directoryUrl(baseUrl: string): URL {
  const base = new URL(baseUrl);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  base.search = '';
  base.hash = '';
  return base;
}
