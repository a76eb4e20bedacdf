/**
 * Log lines are JSON (common/log.ts); tests match them in the older one-line form, which reads
 * better in a regex: `WARN  msg key=value ...` (time left out). A line prefixed by a launcher
 * (`executor-1   | {...}`) keeps its prefix; lines that are not JSON log lines are unchanged.
 */
function formatValue(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return /[\s="]/.test(text) ? JSON.stringify(text) : text;
}

export function logfmtLine(line: string): string {
  const start = line.indexOf('{');
  if (start < 0 || !line.endsWith('}')) return line;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line.slice(start));
  } catch {
    return line;
  }
  if (typeof parsed !== 'object' || parsed === null) return line;
  const { level, time: _time, msg, ...fields } = parsed as Record<string, unknown>;
  if (typeof level !== 'string' || typeof msg !== 'string') return line;
  const parts = Object.entries(fields).map(([k, v]) => `${k}=${formatValue(v)}`);
  return line.slice(0, start) + [level.toUpperCase().padEnd(5), msg, ...parts].join(' ');
}

/** Every line of `text` through logfmtLine. */
export function logfmtText(text: string): string {
  return text
    .split('\n')
    .map((l) => logfmtLine(l))
    .join('\n');
}

/** Parsed JSON log lines of `text` (other lines skipped), the launcher's prefix dropped. */
export function jsonLogLines(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    const start = line.indexOf('{');
    if (start < 0) continue;
    try {
      const parsed: unknown = JSON.parse(line.slice(start));
      if (typeof parsed === 'object' && parsed !== null && 'msg' in parsed) out.push(parsed as Record<string, unknown>);
    } catch {
      // not a log line
    }
  }
  return out;
}
