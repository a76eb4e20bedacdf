/**
 * pino behind a small interface: one JSON object per line when stderr is a pipe or a file (for
 * log collectors and grep), one readable line when it is a terminal. Both are written
 * synchronously, never through a worker-thread transport, so lines written just before
 * process.exit() are not lost. LOG_LEVEL=trace|debug|info|warn|error|fatal|silent, validated
 * with the rest of the configuration (common/config.ts).
 */
import { pino, type DestinationStream } from 'pino';
import { prettyFactory } from 'pino-pretty';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** The problem with a LOG_LEVEL value, or undefined when it is absent or one of LOG_LEVELS. */
export function logLevelProblem(value: string | undefined): string | undefined {
  const text = value?.trim();
  if (text === undefined || text === '' || isLogLevel(text)) return undefined;
  return `LOG_LEVEL=${JSON.stringify(text)} is not a log level (${LOG_LEVELS.join(', ')})`;
}

/** LOG_LEVEL from the environment; an invalid one is reported by the config check, so 'info' meanwhile. */
function envLevel(): LogLevel {
  const text = process.env.LOG_LEVEL?.trim();
  return text !== undefined && isLogLevel(text) ? text : 'info';
}

/** `Error`s in fields become their message (and `<field>Code` when they carry a code). */
export function plainFields(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (value instanceof Error) {
      out[key] = value.message;
      const code = (value as { code?: unknown }).code;
      if (typeof code === 'string' || typeof code === 'number') out[`${key}Code`] = code;
    } else out[key] = value;
  }
  return out;
}

const pretty = prettyFactory({ colorize: process.stderr.isTTY === true, singleLine: true, errorLikeObjectKeys: [], translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });

/** A JSON log line from another process made readable (a launcher on a terminal); other lines unchanged. */
export function prettyLine(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null || !('msg' in parsed)) return line;
    return pretty(parsed).replace(/\n$/, '');
  } catch {
    return line;
  }
}

/** True when this process's logs go to a terminal, and so are written readable rather than as JSON. */
export function logsToTerminal(): boolean {
  return process.stderr.isTTY === true;
}

function destinationFor(write: ((line: string) => void) | undefined): DestinationStream {
  if (write) return { write: (chunk: string) => write(chunk.replace(/\n$/, '')) };
  if (logsToTerminal()) return { write: (chunk: string) => void process.stderr.write(pretty(chunk)) };
  return pino.destination({ dest: 2, sync: true });
}

// Bindings are merged here rather than with pino's child(): a field given again (a child's
// `epoch`, then a call's) appears once, with the latest value, as a JSON key must.
function wrap(p: pino.Logger, bindings: LogFields): Logger {
  const at = (level: 'debug' | 'info' | 'warn' | 'error') => (msg: string, fields?: LogFields) => {
    if (p.isLevelEnabled(level)) p[level](fields ? { ...bindings, ...plainFields(fields) } : bindings, msg);
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields) => wrap(p, { ...bindings, ...plainFields(fields) }),
  };
}

/**
 * A logger writing to stderr, or to `write` one line (without its newline) at a time (tests).
 * Lines are JSON: `{"level":"info","time":"...",<base>,<fields>,"msg":".."}`.
 */
export function createLogger(base: LogFields = {}, level: LogLevel = envLevel(), write?: (line: string) => void): Logger {
  const p = pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destinationFor(write),
  );
  return wrap(p, plainFields(base));
}

export const silentLogger: Logger = createLogger({}, 'silent', () => undefined);
