/**
 * Metrics ports for a local stack (`npm start`), so no two processes of one machine collide.
 * From a base B (METRICS_PORT, default 9464): the scheduler B, the fileserver B+2, further
 * schedulers B+7, B+8, ... and executor-N B+16+N (9481, 9482, ...). Pure.
 */
export const MAX_STACK_SCHEDULERS = 8;
export const MAX_STACK_EXECUTORS = 64;

export function stackMetricsPorts(base: number, schedulerNames: readonly string[], executorNames: readonly string[]): Map<string, number> {
  const ports = new Map<string, number>();
  schedulerNames.forEach((name, i) => ports.set(name, i === 0 ? base : base + 6 + i));
  ports.set('fileserver', base + 2);
  executorNames.forEach((name, i) => ports.set(name, base + 17 + i));
  return ports;
}

/** The highest base that leaves room for the largest stack. */
export const MAX_METRICS_BASE = 65535 - 16 - MAX_STACK_EXECUTORS;
