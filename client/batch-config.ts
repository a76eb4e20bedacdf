/** `batch`'s settings: the stack's (stack/stack-config.ts) plus its own, checked together. */
import { ConfigError, EnvReader } from '../common/config.js';
import { loadStackConfig, type StackConfig } from '../stack/stack-config.js';
import { DEFAULT_FILESERVER_PORT } from '../common/defaults.js';

export interface BatchConfig extends StackConfig {
  /** How long a task size no executor fits is waited out before batch gives up. */
  unplaceableWaitMs: number;
}

export const DEFAULT_UNPLACEABLE_WAIT_MS = 30_000;

export function loadBatchConfig(env: Record<string, string | undefined>): Readonly<BatchConfig> {
  const problems: string[] = [];
  let stack: Readonly<StackConfig> | undefined;
  try {
    stack = loadStackConfig(env, DEFAULT_FILESERVER_PORT);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  const read = new EnvReader(env);
  const unplaceableWaitMs = read.int('BATCH_UNPLACEABLE_WAIT_MS', DEFAULT_UNPLACEABLE_WAIT_MS, { min: 0 });
  try {
    read.done({});
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  if (problems.length > 0 || stack === undefined) throw new ConfigError(problems);
  return Object.freeze({ ...stack, unplaceableWaitMs });
}
