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

export function parseUrlList(text: string, baseUrl: string): ParsedUrlList {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  return parseEntries(lines, baseUrl, (raw) => {
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

/** Shared by both forms: `pick` says what of a line is the URL, or undefined to skip it. */
function parseEntries(
  lines: readonly string[],
  baseUrl: string,
  pick: (raw: string) => { shown: string; candidate: string } | undefined,
): ParsedUrlList {
  const base = directoryUrl(baseUrl);
  const result: ParsedUrlList = { entries: [], invalid: [], duplicates: [] };
  const firstLineOf = new Map<string, number>();
  lines.forEach((raw, index) => {
    const line = index + 1;
    const picked = pick(raw);
    if (picked === undefined) return;
    const verdict = picked.candidate === '' ? ({ ok: false, reason: 'empty' } as const) : parseLine(picked.candidate, base);
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

/** A base without a trailing slash would lose its last segment when resolving `cat.png`. */
function directoryUrl(baseUrl: string): URL {
  const base = new URL(baseUrl);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  base.search = '';
  base.hash = '';
  return base;
}
