/**
 * Whether dist/ is older than the sources: the build writes STAMP_FILE with the time it started;
 * any .ts/.proto (or tsconfig.json) modified after that means a rebuild. A few hundred stat calls,
 * a few milliseconds, instead of a full tsc on every command.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const STAMP_FILE = 'dist/.build-stamp';
/** tsconfig.json's "include". */
export const SOURCE_DIRS = ['lib', 'dashboard', 'transport', 'common', 'protocol', 'scheduler', 'executor', 'fileserver', 'client', 'cli', 'stack', 'bench', 'test'];
const SOURCE_FILE = /\.(ts|proto)$/;

/** Why dist/ under `root` needs building, or undefined when it is current or cannot be built here. */
export function staleReason(root) {
  // An install without sources (the Docker image) runs what it has.
  if (!existsSync(join(root, 'tsconfig.json'))) return undefined;
  const builtMs = readStamp(join(root, STAMP_FILE));
  if (builtMs === undefined) return 'no build yet';
  const changed = newerThan(root, builtMs);
  return changed === undefined ? undefined : `${changed} changed since the last build`;
}

function readStamp(file) {
  try {
    const ms = Number(readFileSync(file, 'utf8').trim());
    return Number.isFinite(ms) && ms > 0 ? ms : undefined;
  } catch {
    return undefined;
  }
}

/** The first source file (relative path) modified after `ms`, if any. */
export function newerThan(root, ms) {
  if (mtimeMs(join(root, 'tsconfig.json')) > ms) return 'tsconfig.json';
  for (const dir of SOURCE_DIRS) {
    const found = walk(root, dir, ms);
    if (found !== undefined) return found;
  }
  return undefined;
}

function walk(root, rel, ms) {
  let entries;
  try {
    entries = readdirSync(join(root, rel), { withFileTypes: true });
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    const path = `${rel}/${entry.name}`;
    if (entry.isDirectory()) {
      const found = walk(root, path, ms);
      if (found !== undefined) return found;
    } else if (SOURCE_FILE.test(entry.name) && mtimeMs(join(root, path)) > ms) {
      return path;
    }
  }
  return undefined;
}

function mtimeMs(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}
