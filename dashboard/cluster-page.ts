/**
 * The cluster page (HTML document) and the script that refreshes it from /api/cluster every
 * 2 s, re-rendering with the same renderCluster the server used. Pure strings.
 */
import type { ClusterSnapshot } from '../client/cluster-snapshot.js';
import { renderCluster } from './cluster-view.js';

export const REFRESH_MS = 2000;

/** No inline script (the CSP forbids it); inline styles only for the resource bars. */
export const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * bull-board's pages under the same rules: scripts only from this server (its bundle is served
 * by us; no eval, no inline script), no frames, no forms elsewhere, nothing from other origins
 * (its Google Fonts link is refused: the system font is used). Two grants more than the
 * cluster page, each because its bundle needs it: its stylesheet file (style-src 'self') and
 * its `<base href>` (base-uri 'self').
 */
export const BOARD_CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self'; connect-src 'self'; base-uri 'self'; form-action 'none'; frame-ancestors 'none'";

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
header{background:#1d2330;color:#fff;padding:10px 20px;display:flex;gap:20px;align-items:baseline}
header h1{font-size:18px;margin:0}header a{color:#9cc3ff}header small{margin-left:auto;color:#aab}
main{padding:10px 20px}section{background:#fff;border-radius:6px;padding:8px 14px;margin:10px 0;box-shadow:0 1px 2px #0002}
h2{font-size:15px;margin:4px 0 8px}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eee;vertical-align:middle}
th{font-weight:600;color:#556}.url{font-family:monospace;font-size:12px;word-break:break-all}
.tiles{display:flex;gap:10px;flex-wrap:wrap}.tile{min-width:90px;padding:6px 10px;border-radius:6px;background:#eef1f6;text-align:center}
.tile b{display:block;font-size:22px}.tile.completed b{color:#1a7f37}.tile.failed b{color:#c62828}.tile.active b{color:#1565c0}
.bar{display:inline-block;width:110px;height:10px;background:#e3e6ea;border-radius:5px;overflow:hidden;vertical-align:middle;margin-right:6px}
.bar span{display:block;height:100%;background:#3b82f6}.flag{background:#fde68a;border-radius:4px;padding:0 5px;font-size:12px}
.alert{background:#fee2e2;border:1px solid #ef4444;color:#991b1b;padding:8px 12px;border-radius:6px;margin:10px 0;font-weight:600}
.outcome.ok{color:#1a7f37}.outcome.bad{color:#c62828}.empty{color:#778}
.thumbs{display:flex;flex-wrap:wrap;gap:10px}figure{margin:0;width:170px;text-align:center}
figure img{max-width:160px;max-height:160px;background:repeating-conic-gradient(#ddd 0 25%,#fff 0 50%) 0 0/16px 16px}
figcaption{font-size:11px;word-break:break-all;color:#556}`;

export function renderPage(s: ClusterSnapshot, nowMs: number): string {
  const title = `offer-invert: ${s.queueName}`.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title><style>${STYLE}</style></head>
<body><header><h1>${title}</h1><a href="queues">queue (bull-board)</a><a href="api/cluster">JSON</a><small id="updated">updated ${new Date(nowMs).toISOString()}</small></header>
<main id="cluster">${renderCluster(s, nowMs)}</main>
<script src="cluster.js"></script></body></html>`;
}

/** The page's script: the renderer's own source plus a refresh loop. */
export function clusterScript(): string {
  const source = renderCluster.toString();
  return `"use strict";
const renderCluster = ${source};
async function refresh() {
  try {
    const res = await fetch('api/cluster', { cache: 'no-store', credentials: 'same-origin' });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    const snapshot = await res.json();
    document.getElementById('cluster').innerHTML = renderCluster(snapshot, snapshot.atMs);
    document.getElementById('updated').textContent = 'updated ' + new Date().toISOString();
  } catch (err) {
    document.getElementById('updated').textContent = 'refresh failed (' + err.message + '); retrying';
  }
}
setInterval(refresh, ${REFRESH_MS});
`;
}
