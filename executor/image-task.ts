/**
 * Runs the images of one image task from launch to a terminal outcome each (download, invert,
 * upload; never a throw, never an image left RUNNING — the tutorial's executor's flaw): each its own job with its own outcome, so one failing
 * or killed image never fails its siblings. The next download overlaps the current inversion,
 * and a task of several images uploads its outputs in one request (the fixed cost of an HTTP
 * request shared by all of them), falling back to one request per image if that fails.
 */
import { PipelineError, toPipelineError, type ErrorCode } from '../common/errors.js';
import type { ImageFormat } from '../common/image-format.js';
import type { ImageItem, ItemStatus, Stage } from '../protocol/types.js';

export interface InvertOutput {
  data: Buffer;
  format: ImageFormat;
  width: number;
  height: number;
}

interface Stored {
  name: string;
  url: string;
  bytes: number;
}

export interface BatchTaskDeps {
  download(url: string, signal: AbortSignal): Promise<Buffer>;
  /** Inverts within `memMb` of memory (RESOURCES_EXCEEDED, with what it needs, when it cannot). */
  invert(input: Buffer, memMb: number): Promise<InvertOutput>;
  /** Uploads to the executor's own fileserver, never to an address a launch names. */
  upload(name: string, image: { data: Buffer; format: ImageFormat }, signal: AbortSignal): Promise<Stored>;
  /** Uploads several outputs in one request, results in the same order. */
  uploadMany(images: { name: string; data: Buffer; format: ImageFormat }[]): Promise<Stored[]>;
  now(): number;
}

/** How one image ended: its wire status without the ids, in one of the states a run can end in. */
type RunResult = Omit<ItemStatus, 'token' | 'jobId' | 'state'> & { state: 'TASK_FINISHED' | 'TASK_FAILED' | 'TASK_KILLED' };

export interface TaskItem {
  image: ImageItem;
  status: ItemStatus;
  abort: AbortController;
  killReason: ErrorCode;
}

interface Inverted {
  item: TaskItem;
  output: InvertOutput;
  sourceBytes: number;
  startedAt: number;
  downloadMs: number;
  invertMs: number;
}

function failure(item: TaskItem, stage: Stage, err: unknown): RunResult {
  const killed = item.abort.signal.aborted;
  const error = killed ? new PipelineError(item.killReason, `killed during ${stage}`, { cause: err }) : toPipelineError(err);
  const out: RunResult = { state: killed ? 'TASK_KILLED' : 'TASK_FAILED', stage, reason: error.code, message: `${stage} failed: ${error.message}` };
  if (error.retryAfterMs !== undefined) out.retryAfterMs = error.retryAfterMs;
  if (error.needMemMb !== undefined) out.memMbNeeded = error.needMemMb;
  return out;
}

function settle(item: TaskItem, result: RunResult): void {
  Object.assign(item.status, {
    state: result.state,
    stage: result.stage,
    reason: result.reason,
    message: result.message,
    result: result.result,
    retryAfterMs: result.retryAfterMs,
    memMbNeeded: result.memMbNeeded,
  });
}

/** Runs the images one after another, each within the task's memory (`memMb`). */
export async function runImageTask(items: TaskItem[], deps: BatchTaskDeps, memMb: number, onStage: (item: TaskItem, stage: Stage) => void): Promise<void> {
  const downloads = new Map<TaskItem, Promise<Buffer>>();
  const fetch = (item: TaskItem | undefined) => {
    if (!item || downloads.has(item) || item.abort.signal.aborted) return;
    const pending = deps.download(item.image.sourceUrl, item.abort.signal);
    pending.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
    downloads.set(item, pending);
  };
  const inverted: Inverted[] = [];
  fetch(items[0]);
  for (const [i, item] of items.entries()) {
    if (item.abort.signal.aborted) {
      settle(item, { state: 'TASK_KILLED', stage: 'none', reason: item.killReason, message: 'killed before it started' });
      fetch(items[i + 1]);
      continue;
    }
    item.status.state = 'TASK_RUNNING';
    const startedAt = deps.now();
    let stage: Stage = 'download';
    try {
      onStage(item, stage);
      fetch(item);
      const source = await downloads.get(item)!;
      downloads.delete(item);
      const downloaded = deps.now();
      if (item.abort.signal.aborted) throw new PipelineError(item.killReason, 'killed');
      fetch(items[i + 1]); // the next download overlaps this inversion
      stage = 'invert';
      onStage(item, stage);
      const output = await deps.invert(source, memMb);
      if (item.abort.signal.aborted) throw new PipelineError(item.killReason, 'killed');
      inverted.push({ item, output, sourceBytes: source.length, startedAt, downloadMs: downloaded - startedAt, invertMs: deps.now() - downloaded });
    } catch (err) {
      downloads.delete(item);
      fetch(items[i + 1]);
      settle(item, failure(item, stage, err));
    }
  }
  await upload(inverted.filter((d) => !d.item.abort.signal.aborted), deps, onStage);
  for (const d of inverted) {
    if (d.item.status.state === 'TASK_RUNNING') settle(d.item, { state: 'TASK_KILLED', stage: 'upload', reason: d.item.killReason, message: 'killed before its upload' });
  }
}

async function upload(done: Inverted[], deps: BatchTaskDeps, onStage: (item: TaskItem, stage: Stage) => void): Promise<void> {
  if (done.length === 0) return;
  for (const d of done) onStage(d.item, 'upload');
  const started = deps.now();
  const finish = (d: Inverted, stored: Stored, uploadMs: number) =>
    settle(d.item, {
      state: 'TASK_FINISHED',
      stage: 'done',
      message: `inverted ${d.item.image.sourceUrl} -> ${stored.name}`,
      result: {
        name: stored.name,
        url: stored.url,
        bytes: stored.bytes,
        width: d.output.width,
        height: d.output.height,
        format: d.output.format,
        durationMs: Math.round(d.downloadMs + d.invertMs + uploadMs),
        downloadMs: Math.round(d.downloadMs),
        invertMs: Math.round(d.invertMs),
        uploadMs: Math.round(uploadMs),
        sourceBytes: d.sourceBytes,
      },
    });
  if (done.length > 1) {
    try {
      const stored = await deps.uploadMany(done.map((d) => ({ name: d.item.image.outputName, data: d.output.data, format: d.output.format })));
      const each = (deps.now() - started) / done.length;
      done.forEach((d, i) => finish(d, stored[i]!, each));
      return;
    } catch {
      // One request for all failed: one per image, so a single bad one fails alone.
    }
  }
  for (const d of done) {
    const t0 = deps.now();
    try {
      finish(d, await deps.upload(d.item.image.outputName, d.output, d.item.abort.signal), deps.now() - t0);
    } catch (err) {
      settle(d.item, failure(d.item, 'upload', err));
    }
  }
}
