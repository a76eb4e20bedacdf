import type { ImageJobData } from '../common/queue.js';

/**
 * Jobs can be added by any BullMQ client, so their data is checked before it becomes a task.
 * Returns what is wrong, or undefined when the job can run.
 */
export function validateJobData(data: unknown): string | undefined {
  if (data === null || typeof data !== 'object') return 'job data is not an object';
  const { url, output } = data as Partial<Record<keyof ImageJobData, unknown>>;
  if (typeof url !== 'string' || url === '') return 'job data has no url';
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `url ${url} is not http(s)`;
  } catch {
    return `url ${JSON.stringify(url)} is not a valid URL`;
  }
  if (typeof output !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,150}$/.test(output)) {
    return `output name ${JSON.stringify(output)} is missing or unsafe`;
  }
  const { memMb } = data as { memMb?: unknown };
  if (memMb !== undefined && (typeof memMb !== 'number' || !(memMb > 0))) return `memMb ${JSON.stringify(memMb)} is not a positive number`;
  return undefined;
}
