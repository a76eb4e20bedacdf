/**
 * The rows of `service list`: every desired instance, where it runs (from the state the leader
 * publishes) or that it is still pending, and running instances nobody wants any more (being
 * stopped). Pure.
 */
import type { ClusterState } from '../common/cluster-state.js';
import type { ServiceDef } from '../common/service-def.js';

export interface InstanceRow {
  service: string;
  instance: number;
  executor: string;
  address: string;
  state: string;
  health: string;
  ageSeconds: number | null;
}

export function instanceRows(desired: Map<string, ServiceDef>, state: ClusterState | undefined, nowMs: number): InstanceRow[] {
  const rows: InstanceRow[] = [];
  const placed = new Set<string>();
  for (const executor of state?.executors ?? []) {
    for (const task of executor.tasks) {
      if (task.kind !== 'service' || !task.service) continue;
      const s = task.service;
      const def = desired.get(s.name);
      const host = executor.advertiseHost || executor.hostname || '?';
      placed.add(`${s.name}/${s.instance}`);
      rows.push({
        service: s.name,
        instance: s.instance,
        executor: executor.id,
        address: `${host.includes(':') ? `[${host}]` : host}:${s.port}`,
        state: !def || s.instance >= def.instances ? 'STOPPING' : task.state.replace(/^TASK_/, ''),
        health: s.healthy === undefined ? '-' : s.healthy ? 'healthy' : 'unhealthy',
        ageSeconds: Math.max(0, Math.round((nowMs - task.startedAtMs) / 1000)),
      });
    }
  }
  for (const def of desired.values()) {
    for (let i = 0; i < def.instances; i++) {
      if (placed.has(`${def.name}/${i}`)) continue;
      rows.push({ service: def.name, instance: i, executor: '-', address: '-', state: 'PENDING', health: '-', ageSeconds: null });
    }
  }
  return rows.sort((a, b) => a.service.localeCompare(b.service) || a.instance - b.instance);
}

export function formatRows(rows: InstanceRow[]): string {
  const header = ['SERVICE', 'INSTANCE', 'EXECUTOR', 'HOST:PORT', 'STATE', 'HEALTH', 'AGE'];
  const cells = rows.map((r) => [r.service, String(r.instance), r.executor, r.address, r.state, r.health, r.ageSeconds === null ? '-' : formatAge(r.ageSeconds)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  return [header, ...cells].map((c) => c.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function formatAge(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}
