/**
 * The per-image work of the reference runs (c) and (d): the executors' own download, invert
 * and upload, configured by the executors' own config loader from the same environment, so the
 * limits, the private-address guard (which lets FILESERVER_URL through), the upload retries and
 * the pixel cap are exactly those of the pipeline run.
 */
import { configOrExit } from '../common/config.js';
import { PipelineError } from '../common/errors.js';
import { loadExecutorConfig } from '../executor/config.js';
import { createDownloader } from '../executor/download.js';
import { invertImage } from '../executor/invert.js';
import { createUploader } from '../executor/upload.js';

export interface ImageTaskInput {
  url: string;
  /** Output name without extension (the job's `output`, as the scheduler passes it on). */
  output: string;
}

export interface ImageTaskResult {
  name: string;
  bytes: number;
  /** Download + invert + upload, as the executors report it. */
  durationMs: number;
}

export type ImageTask = (input: ImageTaskInput) => Promise<ImageTaskResult>;

/** Reads FILESERVER_URL, UPLOAD_TOKEN, MAX_INPUT_PIXELS and the executors' other settings; exits 2 on a bad one. */
export function createImageTask(processName: string, env: Record<string, string | undefined>): ImageTask {
  const config = configOrExit(processName, () => loadExecutorConfig(env));
  // Where executors upload: their own FILESERVER_URL's /upload.
  const { uploadUrl } = config;
  const download = createDownloader(config.download);
  const upload = createUploader({ token: config.uploadToken, timeoutMs: config.uploadTimeoutMs, retries: config.uploadRetries });

  return async ({ url, output }) => {
    const started = performance.now();
    const source = await download(url);
    const image = await invertImage(source, { maxPixels: config.maxInputPixels });
    const stored = await upload({ url: uploadUrl, name: output }, image);
    return { name: stored.name, bytes: stored.bytes, durationMs: Math.round(performance.now() - started) };
  };
}

/** One line for a failure: the stable code when there is one. */
export function failureText(url: string, err: unknown): string {
  const why = err instanceof PipelineError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
  return `${url}: ${why}`;
}
