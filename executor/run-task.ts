/**
 * One image from launch to a terminal outcome: download, invert, upload. Never throws: every
 * path ends in FINISHED, FAILED or KILLED with a reason code (the tutorial's executor returned
 * on error and left its task RUNNING forever; this is the fix).
 */
import { PipelineError, toPipelineError, type ErrorCode } from '../common/errors.js';
import type { ImageFormat } from '../common/image-format.js';
import type { ImageItem, Stage, TaskResult } from '../protocol/types.js';

export interface InvertOutput {
  data: Buffer;
  format: ImageFormat;
  width: number;
  height: number;
}

export interface TaskDeps {
  download(url: string, signal: AbortSignal): Promise<Buffer>;
  invert(input: Buffer): Promise<InvertOutput>;
  /** Uploads to the executor's own fileserver, never to an address a launch names. */
  upload(name: string, image: { data: Buffer; format: ImageFormat }, signal: AbortSignal): Promise<{ name: string; url: string; bytes: number }>;
  now(): number;
}

export interface RunResult {
  state: 'TASK_FINISHED' | 'TASK_FAILED' | 'TASK_KILLED';
  stage: Stage;
  reason?: ErrorCode;
  message: string;
  result?: TaskResult;
  retryAfterMs?: number;
}

export async function runImage(
  image: ImageItem,
  deps: TaskDeps,
  signal: AbortSignal,
  onStage: (stage: Stage) => void = () => undefined,
  killReason: () => ErrorCode = () => 'TASK_KILLED',
): Promise<RunResult> {
  let stage: Stage = 'download';
  const started = deps.now();
  try {
    onStage(stage);
    const source = await deps.download(image.sourceUrl, signal);
    const downloaded = deps.now();
    checkAborted(signal);

    stage = 'invert';
    onStage(stage);
    const inverted = await deps.invert(source);
    const invertedAt = deps.now();
    checkAborted(signal);

    stage = 'upload';
    onStage(stage);
    const stored = await deps.upload(image.outputName, inverted, signal);
    const finished = deps.now();
    return {
      state: 'TASK_FINISHED',
      stage: 'done',
      message: `inverted ${image.sourceUrl} -> ${stored.name}`,
      result: {
        name: stored.name,
        url: stored.url,
        bytes: stored.bytes,
        width: inverted.width,
        height: inverted.height,
        format: inverted.format,
        durationMs: Math.round(finished - started),
        downloadMs: Math.round(downloaded - started),
        invertMs: Math.round(invertedAt - downloaded),
        uploadMs: Math.round(finished - invertedAt),
        sourceBytes: source.length,
      },
    };
  } catch (err) {
    const error = signal.aborted ? new PipelineError(killReason(), `killed during ${stage}`, { cause: err }) : toPipelineError(err);
    const killed = signal.aborted;
    const out: RunResult = {
      state: killed ? 'TASK_KILLED' : 'TASK_FAILED',
      stage,
      reason: error.code,
      message: `${stage} failed: ${error.message}`,
    };
    if (error.retryAfterMs !== undefined) out.retryAfterMs = error.retryAfterMs;
    return out;
  }
}

function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new PipelineError('TASK_KILLED', 'task killed');
}
