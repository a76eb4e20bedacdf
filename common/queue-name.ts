/**
 * The one rule for queue names, used by every process and CLI. The name becomes part of Redis
 * keys and of the ACL key patterns (`~bull:<name>:*`), so a glob character such as `*` would
 * turn a per-queue grant into a grant on every queue, and `:` would split BullMQ's keys.
 */
import type { EnvReader } from './config.js';
import { DEFAULT_QUEUE_NAME } from './defaults.js';

/** Letters, digits, `-`, `_` and `.`; 1 to 100 characters. */
export const QUEUE_NAME_RULE = 'letters, digits, "-", "_" and "." only (1 to 100 characters)';
const QUEUE_NAME_PATTERN = /^[A-Za-z0-9._-]{1,100}$/;

/** Why `name` cannot be a queue name, quoting it, or undefined when it can. */
export function queueNameProblem(name: string, source = 'QUEUE_NAME'): string | undefined {
  return QUEUE_NAME_PATTERN.test(name) ? undefined : `${source}=${JSON.stringify(name)} is not a queue name: use ${QUEUE_NAME_RULE}`;
}

/** QUEUE_NAME from the environment (default "images"), its problem recorded on the reader. */
export function readQueueName(r: EnvReader): string {
  const name = r.string('QUEUE_NAME', DEFAULT_QUEUE_NAME);
  const problem = queueNameProblem(name);
  if (problem !== undefined) r.problem(problem);
  return name;
}
