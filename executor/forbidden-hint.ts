/**
 * The message of URL_FORBIDDEN for a literal non-public address: what the address is and the
 * way forward that fits it. Pure.
 * - cloud metadata: never fetched, no way offered (it hands out this machine's credentials);
 * - loopback on another port than the stack's fileserver: the list most likely resolved its
 *   relative lines against the wrong fileserver, so the fix is the base, not an allow-list;
 * - private, loopback, unique-local and CGNAT addresses, where LAN image servers live: allow-list it;
 * - everything else (link-local, multicast, documentation, reserved...): never an image server,
 *   so no allow-listing is suggested.
 */
import type { AddressVerdict } from './special-addresses.js';

/** Ranges a real image server may sit in: allow-listing them is a fair suggestion. */
const ALLOW_LISTABLE = /(?:^|: )(private|loopback|unique local|shared address space \(CGNAT\))$/;

export function forbiddenMessage(url: URL, address: string, verdict: AddressVerdict, allowedHosts: readonly string[]): string {
  if (verdict.metadata) {
    return `${url.href} points at the cloud metadata service ${address} (${verdict.why}), which is never fetched: it hands out this machine's credentials`;
  }
  const kind = ALLOW_LISTABLE.exec(verdict.why)?.[1];
  const lead = `${url.href} points at the non-public address ${address} (${verdict.why})`;
  if (kind === 'loopback') {
    const fileserver = loopbackFileserver(allowedHosts, url);
    if (fileserver !== undefined) {
      return (
        `${lead}, not at this stack's fileserver ${fileserver.host}: relative lines were resolved against another base. ` +
        `Enqueue with the stack's settings (PORT=${fileserver.port}, or FILESERVER_URL=http://${fileserver.host}), or set IMAGES_BASE_URL`
      );
    }
  }
  if (kind !== undefined) {
    return `${lead}; add "${url.host}" to ALLOWED_SOURCE_HOSTS (or set ALLOW_PRIVATE_NETWORKS=true) if this is intended`;
  }
  return `${lead}, which never serves images: the URL is refused (check the list for a typo)`;
}

/** The allow-listed loopback entry with a port other than the URL's: the local fileserver. */
function loopbackFileserver(allowedHosts: readonly string[], url: URL): { host: string; port: string } | undefined {
  const urlPort = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const entry of allowedHosts) {
    const m = /^(127(?:\.\d{1,3}){3}|localhost|\[::1\]):(\d+)$/.exec(entry.trim());
    if (m !== null && m[2] !== urlPort) return { host: `${m[1]}:${m[2]}`, port: m[2]! };
  }
  return undefined;
}
