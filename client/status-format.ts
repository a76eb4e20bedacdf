/**
 * `status` as text: a ClusterSnapshot in, lines out. Pure (the clock is passed in), so every
 * line is unit-tested; cluster-snapshot.ts does the reading.
 */
import type { PublishedExecutor, PublishedOutcome } from '../common/cluster-state.js';
import type { ClusterSnapshot } from './cluster-snapshot.js';
import { formatAge, formatRows } from './service-list.js';

export interface FormatOptions {
  nowMs: number;
  /** Running tasks listed per executor before "... and N more". */
  maxTasksPerExecutor?: number;
  /** Recent failures and completions listed. */
  maxRecent?: number;
}

const BAR_WIDTH = 10;

/** `[####------]` for used/total; an empty bar when total is 0. */
export function bar(used: number, total: number, width = BAR_WIDTH): string {
  const share = total > 0 ? Math.min(1, Math.max(0, used / total)) : 0;
  const filled = Math.round(share * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

const ageOf = (nowMs: number, atMs: number) => formatAge(Math.max(0, Math.round((nowMs - atMs) / 1000)));
const num = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));
/** Strings from Redis go to a terminal: control characters (escape sequences) are shown, not run. */
export const printable = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

export function executorFlags(e: PublishedExecutor): string[] {
  const flags: string[] = [];
  if (e.lost) flags.push('LOST');
  if (e.draining) flags.push('draining');
  if (e.declined) flags.push('declined');
  if (!e.inboxHealthy) flags.push('inbox-stuck');
  return flags;
}

function executorLines(e: PublishedExecutor, opts: Required<FormatOptions>): string[] {
  const flags = executorFlags(e);
  const head =
    `  ${printable(e.id)}  cpus ${num(e.used.cpus)}/${num(e.total.cpus)} ${bar(e.used.cpus, e.total.cpus)}` +
    `  mem ${num(e.used.memMb)}/${num(e.total.memMb)} MB ${bar(e.used.memMb, e.total.memMb)}` +
    `  ${e.tasks.length} task${e.tasks.length === 1 ? '' : 's'}${flags.length ? `  ${flags.join(' ')}` : ''}`;
  const lines = [head];
  const runs = e.tasks.flatMap((t) =>
    t.kind === 'service' && t.service
      ? [`    service ${printable(t.service.name)}#${t.service.instance} :${t.service.port}  ${t.state.replace(/^TASK_/, '')}  ${ageOf(opts.nowMs, t.startedAtMs)}`]
      : t.runs.map((r) => `    job ${printable(r.jobId)}  ${r.stage && r.stage !== 'none' ? r.stage : r.state === 'TASK_RUNNING' || r.state === 'TASK_STAGING' ? 'queued' : r.state.replace(/^TASK_/, '').toLowerCase()}  ${ageOf(opts.nowMs, t.startedAtMs)}  ${printable(r.url)}`),
  );
  lines.push(...runs.slice(0, opts.maxTasksPerExecutor));
  if (runs.length > opts.maxTasksPerExecutor) lines.push(`    ... and ${runs.length - opts.maxTasksPerExecutor} more`);
  return lines;
}

function outcomeLine(o: PublishedOutcome, nowMs: number): string {
  const what = o.outcome === 'complete' ? `-> ${printable(o.output ?? '?')}` : `${printable(o.reason ?? o.outcome)}`;
  return `  job ${printable(o.jobId)}  ${o.outcome}  ${what}  attempt ${printable(o.attempt)}  ${ageOf(nowMs, o.atMs)} ago  ${printable(o.url)}`;
}

/** The line shown when no leader publishes (the dashboard has its own copy in cluster-view.ts). */
export function noLeaderMessage(queueName: string, stateTtlSeconds: number): string {
  return `no leading scheduler has published state in the last ${stateTtlSeconds} s: is \`npm start\` or \`npm run scheduler\` running on queue "${queueName}"?`;
}

export function formatStatus(s: ClusterSnapshot, options: FormatOptions): string[] {
  const opts: Required<FormatOptions> = { maxTasksPerExecutor: 10, maxRecent: 5, ...options };
  const c = s.queue.counts;
  const lines: string[] = [];
  lines.push(`queue "${printable(s.queueName)}"${s.queue.paused ? '  PAUSED' : ''}`);
  lines.push(
    `  waiting ${c.waiting + c.prioritized}  active ${c.active}  delayed ${c.delayed}  paused ${c.paused}  completed ${c.completed}  failed ${c.failed}` +
      (c.waitingChildren ? `  waiting-children ${c.waitingChildren}` : ''),
  );

  const state = s.state;
  if (state?.unplaceable) lines.push('', `!! UNPLACEABLE: ${printable(state.unplaceable)}`);

  const standbys = s.schedulers.filter((p) => p.schedulerId !== s.leader?.schedulerId).map((p) => printable(p.schedulerId));
  lines.push('');
  if (s.leader) {
    const since = s.leader.sinceMs === undefined ? '' : `, leading for ${ageOf(opts.nowMs, s.leader.sinceMs)}`;
    lines.push(`leader: ${printable(s.leader.schedulerId)} (epoch ${s.leader.epoch}${since})${standbys.length ? `; standbys: ${standbys.join(', ')}` : ''}`);
  } else {
    lines.push(`leader: none${standbys.length ? `; standbys: ${standbys.join(', ')}` : ''}`);
  }
  if (!state) {
    lines.push(`!! ${noLeaderMessage(s.queueName, s.stateTtlSeconds)}`);
  } else {
    const stale = opts.nowMs - state.publishedAtMs;
    if (stale > 3000) lines.push(`   (state published ${ageOf(opts.nowMs, state.publishedAtMs)} ago)`);
    lines.push('', `executors (${state.executors.length}):`);
    if (state.executors.length === 0) lines.push('  none registered: start one with `npm run executor` (or `npm start`)');
    for (const e of [...state.executors].sort((a, b) => a.id.localeCompare(b.id))) lines.push(...executorLines(e, opts));
    const o = state.offers;
    lines.push('', `offers: received ${o.received}, accepted ${o.accepted}, declined ${o.declined}; parked jobs ${o.parkedJobs}`);
    const open = state.circuits.filter((x) => x.state !== 'closed');
    if (open.length) lines.push(`circuits: ${open.map((x) => `${printable(x.host)} ${x.state} (${x.failures} failures)`).join(', ')}`);
  }

  if (s.services.length > 0) lines.push('', 'services:', ...formatRows(s.services).split('\n').map((l) => `  ${printable(l)}`));

  const recent = state?.recent ?? [];
  const failures = recent.filter((r) => r.outcome === 'fail' || r.outcome === 'retry').slice(0, opts.maxRecent);
  const completed = recent.filter((r) => r.outcome === 'complete').slice(0, opts.maxRecent);
  if (failures.length) lines.push('', 'last failures:', ...failures.map((r) => outcomeLine(r, opts.nowMs)));
  if (completed.length) lines.push('', 'last completed:', ...completed.map((r) => outcomeLine(r, opts.nowMs)));
  return lines;
}
