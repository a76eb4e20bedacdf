/**
 * Collects the WARN/ERROR lines of the pipeline's processes while `batch` draws its progress
 * bar, so they do not tear it, and summarises them at the end: count per message, a few examples.
 * Understands the lines as launch-stack forwards them (`name | <log line>`), whether the log
 * line is JSON (pino), pino-pretty or logfmt-style text.
 */
import { prettyLine } from '../common/log.js';

export interface ChildLogLine {
  process: string;
  level: 'warn' | 'error';
  message: string;
  text: string;
}

const PINO_LEVELS: Record<number, 'warn' | 'error'> = { 40: 'warn', 50: 'error', 60: 'error' };

/** The warning or error in one forwarded line; undefined for anything less. */
export function parseChildLine(line: string): ChildLogLine | undefined {
  const bar = line.indexOf('| ');
  const process = bar >= 0 ? line.slice(0, bar).trim() : '';
  const body = bar >= 0 ? line.slice(bar + 2) : line;
  if (body.startsWith('{')) {
    try {
      const entry = JSON.parse(body) as { level?: unknown; msg?: unknown; message?: unknown };
      const level = typeof entry.level === 'number' ? PINO_LEVELS[entry.level] : levelOf(String(entry.level ?? ''));
      const message = entry.msg ?? entry.message;
      if (level === undefined) return undefined;
      return { process, level, message: typeof message === 'string' ? message : '(no message)', text: prettyLine(body) };
    } catch {
      // not JSON after all: read it as text
    }
  }
  const text = /^(?:\[[^\]]*\]\s*)?(WARN|ERROR|FATAL)\b(?:\s*\([^)]*\))?:?\s*(.*)$/.exec(body);
  if (text === null) return undefined;
  const level = levelOf(text[1]!);
  if (level === undefined) return undefined;
  // logfmt-style: the message ends where the first key=value begins.
  const message = (text[2] ?? '').split(/\s+[\w.-]+=/)[0]!.trim() || '(no message)';
  return { process, level, message, text: body };
}

function levelOf(label: string): 'warn' | 'error' | undefined {
  const l = label.toLowerCase();
  if (l === 'warn' || l === 'warning') return 'warn';
  if (l === 'error' || l === 'fatal') return 'error';
  return undefined;
}

/** `executor-2` and `executor-1` report the same problem. */
function processKind(name: string): string {
  return name.replace(/-\d+$/, '');
}

export class ChildLogSummary {
  private readonly groups = new Map<string, { level: 'warn' | 'error'; count: number; examples: string[] }>();

  constructor(private readonly examplesPerMessage = 2) {}

  /** Returns whether the line was a warning or error (and so was kept). */
  add(line: string): boolean {
    const parsed = parseChildLine(line);
    if (parsed === undefined) return false;
    const key = `${parsed.level.toUpperCase()} ${processKind(parsed.process)}: ${parsed.message}`;
    const group = this.groups.get(key) ?? { level: parsed.level, count: 0, examples: [] };
    group.count += 1;
    const bar = line.indexOf('| ');
    const example = bar < 0 ? parsed.text : `${line.slice(0, bar + 2)}${parsed.text}`;
    if (group.examples.length < this.examplesPerMessage) group.examples.push(example.length > 300 ? `${example.slice(0, 300)}...` : example);
    this.groups.set(key, group);
    return true;
  }

  get total(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.count;
    return n;
  }

  /** Errors first, then by count; `maxMessages` groups at most. */
  lines(maxMessages = 10): string[] {
    if (this.groups.size === 0) return [];
    const sorted = [...this.groups.entries()].sort(
      ([, a], [, b]) => (a.level === b.level ? b.count - a.count : a.level === 'error' ? -1 : 1),
    );
    const out = [`the pipeline logged ${this.total} warning/error line${this.total === 1 ? '' : 's'}:`];
    for (const [key, group] of sorted.slice(0, maxMessages)) {
      out.push(`  ${group.count} x ${key}`);
      for (const example of group.examples) out.push(`      e.g. ${example}`);
    }
    if (sorted.length > maxMessages) out.push(`  ...and ${sorted.length - maxMessages} more kinds`);
    return out;
  }
}
