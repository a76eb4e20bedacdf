/**
 * Readers for objects decoded from the wire, which are never trusted: each checks the type it
 * expects and throws a DecodeError naming the field's path, so a malformed message is reported
 * with what was wrong and where, and dropped.
 */
export class DecodeError extends Error {
  override readonly name: string = 'DecodeError';
  readonly code: string = 'MALFORMED_MESSAGE';
}

export type Wire = Record<string, unknown>;

export function fail(path: string, what: string): never {
  throw new DecodeError(`${path}: ${what}`);
}

export function obj(v: unknown, path: string): Wire {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(path, 'missing');
  return v as Wire;
}

export function optObj(v: unknown): Wire | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Wire) : undefined;
}

export function str(v: unknown, path: string, required = false): string {
  if (typeof v !== 'string') fail(path, 'not a string');
  if (required && v === '') fail(path, 'empty');
  return v;
}

export function num(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, 'not a number');
  return v;
}

export function bool(v: unknown): boolean {
  return v === true;
}

export function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) fail(path, 'not a list');
  return v;
}

/** A Mesos-style id message ({ value: string }), required and non-empty. */
export function id(v: unknown, path: string): string {
  return str(obj(v, path).value, `${path}.value`, true);
}

export function bytes(v: unknown): Buffer {
  return v instanceof Uint8Array ? Buffer.from(v) : Buffer.alloc(0);
}

export function hex(v: unknown): string | undefined {
  return v instanceof Uint8Array && v.length > 0 ? Buffer.from(v).toString('hex') : undefined;
}
