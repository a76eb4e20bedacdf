/**
 * Resource arithmetic shared by executors (what is free) and the scheduler (what fits).
 * Pure functions; cpus are kept to millicpu precision so repeated add/subtract never drifts.
 */
import type { PortRange, Resources } from './types.js';

const round = (n: number) => Math.round(n * 1000) / 1000;

export const EMPTY: Resources = Object.freeze({ cpus: 0, memMb: 0, ports: [] as PortRange[] }) as Resources;

/** Sorts and merges overlapping or adjacent ranges. */
export function normalizePorts(ranges: readonly PortRange[]): PortRange[] {
  const sorted = ranges.filter((r) => r.end >= r.begin).map((r) => ({ ...r })).sort((a, b) => a.begin - b.begin);
  const out: PortRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.begin <= last.end + 1) last.end = Math.max(last.end, r.end);
    else out.push(r);
  }
  return out;
}

function subtractPorts(from: readonly PortRange[], take: readonly PortRange[]): PortRange[] {
  let current = normalizePorts(from);
  for (const t of normalizePorts(take)) {
    const next: PortRange[] = [];
    for (const r of current) {
      if (t.end < r.begin || t.begin > r.end) {
        next.push(r);
        continue;
      }
      if (r.begin < t.begin) next.push({ begin: r.begin, end: t.begin - 1 });
      if (r.end > t.end) next.push({ begin: t.end + 1, end: r.end });
    }
    current = next;
  }
  return current;
}

function containsPorts(outer: readonly PortRange[], inner: readonly PortRange[]): boolean {
  return normalizePorts(inner).every((i) => normalizePorts(outer).some((o) => o.begin <= i.begin && i.end <= o.end));
}

export function add(a: Resources, b: Resources): Resources {
  return { cpus: round(a.cpus + b.cpus), memMb: round(a.memMb + b.memMb), ports: normalizePorts([...a.ports, ...b.ports]) };
}

export function subtract(a: Resources, b: Resources): Resources {
  return {
    cpus: Math.max(0, round(a.cpus - b.cpus)),
    memMb: Math.max(0, round(a.memMb - b.memMb)),
    ports: subtractPorts(a.ports, b.ports),
  };
}

/** True when `need` can be carved out of `have`. */
export function contains(have: Resources, need: Resources): boolean {
  return round(have.cpus - need.cpus) >= 0 && round(have.memMb - need.memMb) >= 0 && containsPorts(have.ports, need.ports);
}

/** Takes the lowest `count` ports out of `ranges`. Returns undefined when there are not enough. */
export function takePorts(ranges: readonly PortRange[], count: number): PortRange[] | undefined {
  if (count === 0) return [];
  const taken: PortRange[] = [];
  let left = count;
  for (const r of normalizePorts(ranges)) {
    const n = Math.min(left, r.end - r.begin + 1);
    taken.push({ begin: r.begin, end: r.begin + n - 1 });
    left -= n;
    if (left === 0) return taken;
  }
  return undefined;
}

export function sum(list: readonly Resources[]): Resources {
  return list.reduce(add, EMPTY);
}

export function formatResources(r: Resources): string {
  const ports = r.ports.map((p) => (p.begin === p.end ? `${p.begin}` : `${p.begin}-${p.end}`)).join(',');
  return `cpus=${r.cpus} mem=${r.memMb}MB` + (ports ? ` ports=[${ports}]` : '');
}
