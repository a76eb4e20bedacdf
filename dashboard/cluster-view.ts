/**
 * The cluster page's body, from a ClusterSnapshot. The server renders the first view with it,
 * and the page's script re-renders every 2 s from /api/cluster with the very same function:
 * its source is sent to the browser (`renderCluster.toString()`), so it must stay
 * self-contained: no imports, no module-level helpers, nothing but its arguments. A unit test
 * checks that. Every string from Redis goes through `esc` (URLs and ids are hostile input).
 */
import type { ClusterSnapshot } from '../client/cluster-snapshot.js';

export function renderCluster(s: ClusterSnapshot, nowMs: number): string {
  const esc = (v: unknown): string =>
    String(v).replace(/[&<>"'`]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' })[c] ?? c);
  const age = (atMs: number | undefined): string => {
    if (atMs === undefined) return '-';
    const sec = Math.max(0, Math.round((nowMs - atMs) / 1000));
    if (sec < 60) return `${sec}s`;
    if (sec < 3600) return `${Math.floor(sec / 60)}m${String(sec % 60).padStart(2, '0')}s`;
    return `${Math.floor(sec / 3600)}h${String(Math.floor((sec % 3600) / 60)).padStart(2, '0')}m`;
  };
  const num = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(1));
  const bar = (used: number, total: number, unit: string): string => {
    const pct = total > 0 ? Math.min(100, Math.max(0, Math.round((used / total) * 100))) : 0;
    return `<div class="bar" title="${pct}%"><span style="width:${pct}%"></span></div><small>${esc(num(used))} / ${esc(num(total))}${unit}</small>`;
  };
  const table = (head: string[], rows: string[][], empty: string, id: string): string =>
    rows.length === 0
      ? `<p class="empty" id="${id}">${esc(empty)}</p>`
      : `<table id="${id}"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
          .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
          .join('')}</tbody></table>`;

  const out: string[] = [];
  const st = s.state;
  if (st && st.unplaceable) out.push(`<div class="alert" id="unplaceable">UNPLACEABLE: ${esc(st.unplaceable)}</div>`);
  if (!st) {
    out.push(
      `<div class="alert" id="no-leader">no leading scheduler has published state in the last ${esc(s.stateTtlSeconds)} s: is <code>npm start</code> or <code>npm run scheduler</code> running on queue "${esc(s.queueName)}"?</div>`,
    );
  }

  const c = s.queue.counts;
  const tiles: [string, string, number][] = [
    ['waiting', 'waiting', c.waiting + c.prioritized],
    ['active', 'active', c.active],
    ['delayed', 'delayed', c.delayed],
    ['paused', 'paused', c.paused],
    ['completed', 'completed', c.completed],
    ['failed', 'failed', c.failed],
  ];
  out.push(
    `<section><h2>Queue "${esc(s.queueName)}"${s.queue.paused ? ' <span class="flag">PAUSED</span>' : ''}</h2><div class="tiles">${tiles
      .map(([key, label, n]) => `<div class="tile ${key}"><b id="count-${key}">${n}</b><span>${label}</span></div>`)
      .join('')}</div></section>`,
  );

  const standbys = s.schedulers.filter((p) => !s.leader || p.schedulerId !== s.leader.schedulerId).map((p) => esc(p.schedulerId));
  const leader = s.leader
    ? `<b id="leader-id">${esc(s.leader.schedulerId)}</b> epoch ${esc(s.leader.epoch)}, leading for ${age(s.leader.sinceMs)}`
    : '<b id="leader-id">none</b>';
  const offers = st ? `; offers received ${st.offers.received}, accepted ${st.offers.accepted}, declined ${st.offers.declined}; parked jobs ${st.offers.parkedJobs}` : '';
  out.push(`<section><h2>Leader</h2><p>${leader}${standbys.length ? `; standbys: ${standbys.join(', ')}` : ''}${offers}</p></section>`);

  const executors = st ? [...st.executors].sort((a, b) => a.id.localeCompare(b.id)) : [];
  out.push(
    `<section><h2>Executors (${executors.length})</h2>${table(
      ['id', 'host', 'cpus', 'memory', 'tasks', 'flags', 'heartbeat'],
      executors.map((e) => {
        const flags = [e.lost ? 'LOST' : '', e.draining ? 'draining' : '', e.declined ? 'declined' : '', e.inboxHealthy ? '' : 'inbox-stuck'].filter((f) => f !== '');
        return [
          `<span class="executor-id">${esc(e.id)}</span>`,
          esc(e.advertiseHost || e.hostname),
          bar(e.used.cpus, e.total.cpus, ''),
          bar(e.used.memMb, e.total.memMb, ' MB'),
          String(e.tasks.length),
          flags.map((f) => `<span class="flag">${esc(f)}</span>`).join(' '),
          `${age(e.lastHeartbeatMs)} ago`,
        ];
      }),
      'no executor registered',
      'executors',
    )}</section>`,
  );

  const running = executors.flatMap((e) =>
    e.tasks.flatMap((t) =>
      t.kind === 'images'
        ? t.runs.map((r) => [`<span class="job-id">${esc(r.jobId)}</span>`, esc(e.id), esc(r.stage && r.stage !== 'none' ? r.stage : r.state === 'TASK_RUNNING' || r.state === 'TASK_STAGING' ? 'queued' : r.state), age(t.startedAtMs), `<span class="url">${esc(r.url)}</span>`])
        : [],
    ),
  );
  out.push(`<section><h2>Running tasks (${running.length})</h2>${table(['job', 'executor', 'stage', 'age', 'url'], running, 'nothing running', 'running')}</section>`);

  if (s.services.length > 0) {
    out.push(
      `<section><h2>Services</h2>${table(
        ['service', 'instance', 'executor', 'host:port', 'state', 'health', 'age'],
        s.services.map((r) => [esc(r.service), esc(r.instance), esc(r.executor), esc(r.address), esc(r.state), esc(r.health), r.ageSeconds === null ? '-' : esc(`${r.ageSeconds}s`)]),
        '',
        'services',
      )}</section>`,
    );
  }

  const recent = st ? st.recent : [];
  out.push(
    `<section><h2>Recent outcomes</h2>${table(
      ['job', 'outcome', 'result', 'attempt', 'when', 'url'],
      recent.map((o) => [
        `<span class="job-id">${esc(o.jobId)}</span>`,
        `<span class="outcome ${o.outcome === 'complete' ? 'ok' : o.outcome === 'fail' ? 'bad' : ''}">${esc(o.outcome)}</span>`,
        esc(o.outcome === 'complete' ? (o.output ?? '') : (o.reason ?? '')),
        esc(o.attempt),
        `${age(o.atMs)} ago`,
        `<span class="url">${esc(o.url)}</span>`,
      ]),
      'no outcome yet',
      'recent',
    )}</section>`,
  );

  const seen = new Set<string>();
  const thumbs = recent.filter((o) => o.outcome === 'complete' && o.output && !seen.has(o.output) && seen.add(o.output)).slice(0, 12);
  out.push(
    `<section><h2>Inverted images</h2>${
      thumbs.length === 0
        ? '<p class="empty" id="thumbnails">none yet</p>'
        : `<div class="thumbs" id="thumbnails">${thumbs
            .map((o) => `<figure><img class="thumb" loading="lazy" alt="${esc(o.output)}" src="thumbs/${esc(encodeURIComponent(o.output ?? ''))}"><figcaption>${esc(o.output)}</figcaption></figure>`)
            .join('')}</div>`
    }</section>`,
  );
  return out.join('\n');
}
