/**
 * The per-image work of reference run (c) as a user would write it in a BullMQ processor: got
 * with its defaults (plus a timeout), the same invertImage (same sharp settings and quality),
 * and a multipart upload built with the standard FormData. No SSRF guard, byte cap or slow-drip
 * check: the pipeline's executors pay for those, a quick worker usually does not.
 */
import got from 'got';
import { configOrExit } from '../common/config.js';
import { EXTENSION, MIME_TYPE } from '../common/image-format.js';
import { loadExecutorConfig } from '../executor/config.js';
import { invertImage } from '../executor/invert.js';
import type { ImageTask } from './image-task.js';

export function createUserImageTask(processName: string, env: Record<string, string | undefined>): ImageTask {
  const config = configOrExit(processName, () => loadExecutorConfig(env));
  return async ({ url, output }) => {
    const started = performance.now();
    const source = await got(url, { timeout: { request: 30_000 } }).buffer();
    const image = await invertImage(source, { maxPixels: config.maxInputPixels });
    const form = new FormData();
    form.append('name', output);
    form.append('image', new Blob([image.data], { type: MIME_TYPE[image.format] }), `${output}.${EXTENSION[image.format]}`);
    const stored = await got
      .post(config.uploadUrl, { body: form, headers: { authorization: `Bearer ${config.uploadToken}` }, timeout: { request: 30_000 } })
      .json<{ name: string; bytes: number }>();
    return { name: stored.name, bytes: stored.bytes, durationMs: Math.round(performance.now() - started) };
  };
}
