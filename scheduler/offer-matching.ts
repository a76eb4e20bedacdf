/**
 * Task sizing against an offer: how many tasks fit, and the exact resources each one gets.
 * Pure; the scheduler calls it once per offer.
 */
import { takePorts } from '../protocol/resources.js';
import type { Resources } from '../protocol/types.js';

export interface TaskDemand {
  cpus: number;
  memMb: number;
  ports: number;
}

const EPSILON = 1e-9;

function fitsBy(have: number, need: number): number {
  return need <= 0 ? Number.POSITIVE_INFINITY : Math.floor(have / need + EPSILON);
}

/** The number of tasks of size `demand` that `offer` can hold, capped at `limit`. */
export function tasksThatFit(offer: Resources, demand: TaskDemand, limit: number): number {
  const portTotal = offer.ports.reduce((n, r) => n + r.end - r.begin + 1, 0);
  const n = Math.min(fitsBy(offer.cpus, demand.cpus), fitsBy(offer.memMb, demand.memMb), fitsBy(portTotal, demand.ports), limit);
  return Math.max(0, n);
}

/**
 * Carves `count` task-sized slices out of the offer (ports are handed out lowest first, each
 * task its own). Throws if they do not fit: callers size `count` with tasksThatFit first.
 */
export function planLaunch(offer: Resources, demand: TaskDemand, count: number): Resources[] {
  if (count > tasksThatFit(offer, demand, count)) throw new Error(`${count} tasks do not fit the offer`);
  const allPorts = takePorts(offer.ports, demand.ports * count) ?? [];
  const slices: Resources[] = [];
  let cursor = allPorts.flatMap((r) => Array.from({ length: r.end - r.begin + 1 }, (_, i) => r.begin + i));
  for (let i = 0; i < count; i++) {
    const mine = cursor.slice(0, demand.ports);
    cursor = cursor.slice(demand.ports);
    slices.push({ cpus: demand.cpus, memMb: demand.memMb, ports: mine.map((p) => ({ begin: p, end: p })) });
  }
  return slices;
}

/** True when an executor with `total` resources could never run a single task. */
export function neverFits(total: Resources, demand: TaskDemand): boolean {
  return tasksThatFit(total, demand, 1) === 0;
}
