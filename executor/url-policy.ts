/**
 * Which source URLs an executor may fetch. Image URLs come from users, so without this an
 * executor is an open proxy into its own network (SSRF: cloud metadata, Redis, admin ports).
 * Pure: literal addresses are checked here, hostnames are checked after DNS by the downloader.
 */
import { isIP } from 'node:net';
import { PipelineError } from '../common/errors.js';
import { forbiddenMessage } from './forbidden-hint.js';
import { classifyAddress } from './special-addresses.js';

export interface UrlPolicy {
  /** true only for trusted setups (local demos); disables every address check. */
  allowPrivateNetworks: boolean;
  /** "host:port" entries that bypass the private-address check, e.g. the local fileserver; without a port, the scheme's default. */
  allowedHosts: string[];
}

/**
 * True for every special-purpose, private, local or multicast address (see special-addresses.ts),
 * for IPv6 forms whose embedded IPv4 is one, and for anything that is not an IP (fail closed).
 */
export function isBlockedAddress(ip: string): boolean {
  return classifyAddress(ip).blocked;
}

/** Literal IP of a URL hostname ("[::1]" -> "::1"), or undefined for a DNS name. */
export function literalAddress(hostname: string): string | undefined {
  const bare = stripBrackets(hostname);
  return isIP(bare) === 0 ? undefined : bare;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** "host", "host:port", "[v6]" or "[v6]:port"; no port means the default port of the URL's scheme. */
function parseEntry(entry: string): { hostname: string; port: string | undefined } | undefined {
  const text = entry.trim();
  const explicit = /:(\d+)$/.exec(text);
  try {
    // Parsed as an http URL for the same normalisation as the source URL; the port is read from the text
    // because the parser would erase an explicit ":80".
    const url = new URL(`http://${explicit === null ? text : text.slice(0, explicit.index)}`);
    return { hostname: url.hostname, port: explicit?.[1] };
  } catch {
    return undefined;
  }
}

/** Whether the URL's host and port match an allowedHosts entry (names compared WHATWG-normalised). */
export function isAllowedHost(url: URL, policy: UrlPolicy): boolean {
  // url.port is "" exactly when the URL uses its scheme's default port.
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return policy.allowedHosts.some((raw) => {
    const entry = parseEntry(raw);
    if (entry === undefined || entry.hostname !== url.hostname) return false;
    return entry.port === undefined ? url.port === '' : entry.port === port;
  });
}

/** Whether fetches to this URL need their DNS answers checked (see the downloader's lookup). */
export function needsAddressCheck(url: URL, policy: UrlPolicy): boolean {
  return !policy.allowPrivateNetworks && !isAllowedHost(url, policy);
}

/**
 * Parses and checks a source URL before any connection is made. Redirect targets go through
 * here again, so a public host cannot bounce the executor to a private one.
 */
export function checkSourceUrl(raw: string, policy: UrlPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (err) {
    throw new PipelineError('URL_INVALID', `not a valid URL: ${JSON.stringify(raw.slice(0, 200))}`, { cause: err });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PipelineError('URL_INVALID', `only http and https URLs can be fetched, got ${url.protocol}`);
  }
  // Credentials would be sent to the source and end up in logs and job data.
  if (url.username !== '' || url.password !== '') {
    throw new PipelineError('URL_INVALID', `URLs with credentials are not accepted: ${url.protocol}//${url.host}${url.pathname}`);
  }
  const address = literalAddress(url.hostname);
  if (address !== undefined && !policy.allowPrivateNetworks) {
    const verdict = classifyAddress(address);
    // Allow-listing exists for LAN image servers; the message offers it only where one can live
    // (never for the metadata service, which hands out this machine's credentials).
    if (verdict.metadata || (verdict.blocked && !isAllowedHost(url, policy))) {
      throw new PipelineError('URL_FORBIDDEN', forbiddenMessage(url, address, verdict, policy.allowedHosts));
    }
  }
  return url;
}
