/**
 * Splits one port range among the executors of one machine, so two never offer the same port.
 * Pure. `none` gives every executor none.
 */
import { portSpanProblem } from '../common/port-ranges.js';

export function portSlices(range: string, executors: number, allowPrivileged = false): string[] {
  if (range.trim().toLowerCase() === 'none') return Array.from({ length: executors }, () => 'none');
  const m = /^(\d+)-(\d+)$/.exec(range.trim());
  if (!m) throw new Error(`EXECUTOR_PORTS=${JSON.stringify(range)} must be one range like 31000-32000, or none, for a local stack`);
  const begin = Number(m[1]);
  const end = Number(m[2]);
  const size = Math.floor((end - begin + 1) / executors);
  const problem = portSpanProblem({ begin, end }, allowPrivileged);
  if (problem !== undefined) throw new Error(`EXECUTOR_PORTS=${range}: ${problem}`);
  if (size < 1) throw new Error(`EXECUTOR_PORTS=${range} cannot give ${executors} executors a port each`);
  return Array.from({ length: executors }, (_, i) => `${begin + i * size}-${begin + (i + 1) * size - 1}`);
}
