/**
 * One task from launch to a terminal outcome: download, invert, upload. Never throws: every
 * path ends in FINISHED, FAILED or KILLED with a reason code (the tutorial's executor returned
 * on error and left its task RUNNING forever; this is the fix).
 */
import { PipelineError, toPipelineError, type ErrorCode } from '../common/errors.js';
import type { ImageFormat } from '../common/image-format.js';
import type { Stage, TaskInfo, TaskResult, UploadTarget } from '../protocol/types.js';

export interface InvertOutput {
  data: Buffer;
  format: ImageFormat;
  width: number;
  height: number;
}

export interface TaskDeps {
  download(url: string, signal: AbortSignal): Promise<Buffer>;
  invert(input: Buffer): Promise<InvertOutput>;
  upload(target: UploadTarget, image: { data: Buffer; format: ImageFormat }, signal: AbortSignal): Promise<{ name: string; url: string; bytes: number }>;
  now(): number;
}

export interface TaskOutcome {
  state: 'TASK_FINISHED' | 'TASK_FAILED' | 'TASK_KILLED';
  stage: Stage;
  reason?: ErrorCode;
  retryable: boolean;
  message: string;
  result?: TaskResult;
}

export async function runTask(
  task: TaskInfo,
  deps: TaskDeps,
  signal: AbortSignal,
  onStage: (stage: Stage) => void = () => undefined,
): Promise<TaskOutcome> {
  let stage: Stage = 'download';
  const started = deps.now();
  try {
    onStage(stage);
    const source = await deps.download(task.sourceUrl, signal);
    const downloaded = deps.now();
    checkAborted(signal);

    stage = 'invert';
    onStage(stage);
    const image = await deps.invert(source);
    const inverted = deps.now();
    checkAborted(signal);

    stage = 'upload';
    onStage(stage);
    const stored = await deps.upload(task.upload, image, signal);
    const finished = deps.now();
    return {
      state: 'TASK_FINISHED',
      stage: 'done',
      retryable: false,
      message: `inverted ${task.sourceUrl} -> ${stored.name}`,
      result: {
        name: stored.name,
        url: stored.url,
        bytes: stored.bytes,
        width: image.width,
        height: image.height,
        format: image.format,
        durationMs: Math.round(finished - started),
        downloadMs: Math.round(downloaded - started),
        invertMs: Math.round(inverted - downloaded),
        uploadMs: Math.round(finished - inverted),
        sourceBytes: source.length,
      },
    };
  } catch (err) {
    const error = signal.aborted ? new PipelineError('TASK_KILLED', `killed during ${stage}`, { cause: err }) : toPipelineError(err);
    return {
      state: error.code === 'TASK_KILLED' ? 'TASK_KILLED' : 'TASK_FAILED',
      stage,
      reason: error.code,
      retryable: error.retryable,
      message: `${stage} failed: ${error.message}`,
    };
  }
}

function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new PipelineError('TASK_KILLED', 'task killed');
}
