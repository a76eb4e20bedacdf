/**
 * The record `batch` leaves beside its outputs (`<UPLOAD_DIR>/manifest.json`): for every URL of
 * the list, the output file it became, or why it failed and after how many attempts.
 * `buildManifest` is pure; `writeManifest` replaces the file atomically.
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BatchOutcome } from './watch-jobs.js';

export const MANIFEST_FILE = 'manifest.json';

export type ManifestEntry =
  | { url: string; line: number | undefined; status: 'ok'; output: string; format: string; width: number; height: number; bytes: number }
  | { url: string; line: number | undefined; status: 'failed'; reason: string; attempt: string };

export interface Manifest {
  list: string;
  queue: string;
  finishedAt: string;
  elapsedMs: number;
  total: number;
  completed: number;
  failed: number;
  /** In the order of the list. */
  entries: ManifestEntry[];
}

export function buildManifest(
  outcome: BatchOutcome,
  context: { list: string; queue: string; finishedAt: Date; lineOf: ReadonlyMap<string, number> },
): Manifest {
  const entries: ManifestEntry[] = [
    ...outcome.completed.map(({ url, result }): ManifestEntry => ({
      url,
      line: context.lineOf.get(url),
      status: 'ok',
      output: result.name,
      format: result.format,
      width: result.width,
      height: result.height,
      bytes: result.bytes,
    })),
    ...outcome.failed.map(({ url, reason, attempts, maxAttempts }): ManifestEntry => ({
      url,
      line: context.lineOf.get(url),
      status: 'failed',
      reason,
      attempt: `${attempts}/${maxAttempts}`,
    })),
  ].sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER));
  return {
    list: context.list,
    queue: context.queue,
    finishedAt: context.finishedAt.toISOString(),
    elapsedMs: outcome.elapsedMs,
    total: entries.length,
    completed: outcome.completed.length,
    failed: outcome.failed.length,
    entries,
  };
}

/** Returns the path written. */
export async function writeManifest(dir: string, manifest: Manifest): Promise<string> {
  const path = join(dir, MANIFEST_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(tmp, path);
  return path;
}
