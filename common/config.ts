/**
 * Environment parsing shared by every process: read all settings, collect every problem,
 * then fail once with the full list (instead of one error per restart).
 */
import { logLevelProblem } from './log.js';
import { redactUrl, redisUrlProblem } from './redis-url.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

/**
 * Set on an env object, it hears every setting a loader reads and the default it gives: the
 * configuration reference test (test/config-reference.test.ts) learns the settings from the code
 * this way instead of from a second list. Process environments never carry it.
 */
export const ON_SETTING_READ = Symbol('onSettingRead');
export type SettingListener = (name: string, fallback: unknown) => void;

interface NumberRange {
  min?: number;
  max?: number;
}

export class EnvReader {
  private readonly problems: string[] = [];

  constructor(private readonly env: Record<string, string | undefined>) {}

  private heard(name: string, fallback: unknown): void {
    (this.env as { [ON_SETTING_READ]?: SettingListener })[ON_SETTING_READ]?.(name, fallback);
  }

  private raw(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  string(name: string, fallback: string): string {
    this.heard(name, fallback);
    return this.raw(name) ?? fallback;
  }

  optionalString(name: string): string | undefined {
    this.heard(name, undefined);
    return this.raw(name);
  }

  required(name: string, hint: string): string {
    this.heard(name, undefined);
    const value = this.raw(name);
    if (value === undefined) this.problems.push(`${name} is required: ${hint}`);
    return value ?? '';
  }

  number(name: string, fallback: number, range: NumberRange = {}): number {
    this.heard(name, fallback);
    const text = this.raw(name);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isFinite(value)) {
      this.problems.push(`${name}=${JSON.stringify(text)} is not a number`);
      return fallback;
    }
    if (range.min !== undefined && value < range.min) this.problems.push(`${name}=${value} is below ${range.min}`);
    if (range.max !== undefined && value > range.max) this.problems.push(`${name}=${value} is above ${range.max}`);
    return value;
  }

  int(name: string, fallback: number, range: NumberRange = {}): number {
    const value = this.number(name, fallback, range);
    if (!Number.isInteger(value)) {
      this.problems.push(`${name}=${value} is not a whole number`);
      return fallback;
    }
    return value;
  }

  bool(name: string, fallback: boolean): boolean {
    this.heard(name, fallback);
    const text = this.raw(name)?.toLowerCase();
    if (text === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(text)) return true;
    if (['0', 'false', 'no', 'off'].includes(text)) return false;
    this.problems.push(`${name}=${JSON.stringify(text)} is not a boolean (true/false)`);
    return fallback;
  }

  url(name: string, fallback: string, protocols: string[] = ['http:', 'https:']): string {
    this.heard(name, fallback);
    const text = this.raw(name) ?? fallback;
    try {
      const parsed = new URL(text);
      if (!protocols.includes(parsed.protocol)) {
        this.problems.push(`${name}=${JSON.stringify(text)} must use ${protocols.join(' or ')}`);
      }
      return parsed.href;
    } catch {
      this.problems.push(`${name}=${JSON.stringify(text)} is not a valid URL`);
      return fallback;
    }
  }

  /** Any REDIS_URL form (redis-url.ts); the problem quotes the URL with its passwords redacted. */
  redisUrl(name: string, fallback: string): string {
    this.heard(name, fallback);
    const text = this.raw(name) ?? fallback;
    const problem = redisUrlProblem(text);
    if (problem === undefined) return text;
    this.problems.push(`${name}=${JSON.stringify(redactUrl(text))} ${problem}`);
    return fallback;
  }

  list(name: string, fallback: string[]): string[] {
    this.heard(name, fallback);
    const text = this.raw(name);
    if (text === undefined) return fallback;
    return text
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }

  /** Records a problem found by cross-field checks. */
  problem(message: string): void {
    this.problems.push(message);
  }

  /**
   * Throws one ConfigError listing every problem, or returns the frozen config. LOG_LEVEL is
   * every process's setting (createLogger reads it), so it is checked here, where no process
   * or CLI can skip it.
   */
  done<T extends object>(config: T): Readonly<T> {
    const levelProblem = logLevelProblem(this.env.LOG_LEVEL);
    if (levelProblem !== undefined) this.problems.push(levelProblem);
    if (this.problems.length > 0) throw new ConfigError(this.problems);
    return Object.freeze(config);
  }
}

/** For entry files: the loaded config, or the full list of problems on stderr and exit code 2. */
export function configOrExit<T>(processName: string, load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${processName}: ${err.message}\n`);
    process.exit(2);
  }
}
