/**
 * Which IP addresses an executor never connects to for a source image: every range in IANA's
 * IPv4 and IPv6 Special-Purpose Address Registries (as of 2025), multicast, deprecated
 * site-local, everything outside IPv6 global unicast, and the cloud metadata endpoints. IPv6
 * forms that carry an IPv4 address are judged by that IPv4 address. Pure, no dependencies.
 *
 * Entries IANA marks "globally reachable" are blocked too (PCP/TURN/DNS-SD anycast, AS112, AMT,
 * ORCHIDv2, DRIP entity tags): they are DNS sinks, relays, protocol anycast or identifiers that
 * are not routable locators, never an image host, so refusing them costs nothing.
 */
import { isIP } from 'node:net';

/** [prefix, length, why]: every address under the prefix is refused. */
type Entry = readonly [prefix: string, length: number, why: string];

const V4: readonly Entry[] = [
  ['0.0.0.0', 8, '"this network"'], // 0.0.0.0 reaches localhost on Linux
  ['0.0.0.0', 32, '"this host"'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared address space (CGNAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.0.0', 29, 'IPv4 service continuity (DS-Lite)'],
  ['192.0.0.8', 32, 'IPv4 dummy address'],
  ['192.0.0.9', 32, 'PCP anycast'],
  ['192.0.0.10', 32, 'TURN anycast'],
  ['192.0.0.170', 32, 'NAT64/DNS64 discovery'],
  ['192.0.0.171', 32, 'NAT64/DNS64 discovery'],
  ['192.0.2.0', 24, 'documentation (TEST-NET-1)'],
  ['192.31.196.0', 24, 'AS112 DNS sink'],
  ['192.52.193.0', 24, 'AMT relay'],
  ['192.88.99.0', 24, 'deprecated 6to4 relay anycast'],
  ['192.168.0.0', 16, 'private'],
  ['192.175.48.0', 24, 'AS112 DNS sink (direct delegation)'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation (TEST-NET-2)'],
  ['203.0.113.0', 24, 'documentation (TEST-NET-3)'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
  ['255.255.255.255', 32, 'limited broadcast'],
];

const V6: readonly Entry[] = [
  // Only 2000::/3 is allocated for global unicast; these three cover the rest, so anything
  // unassigned is refused too. The entries below (and the IPv4 embeddings) are more specific.
  ['::', 3, 'outside IPv6 global unicast (2000::/3)'],
  ['4000::', 2, 'outside IPv6 global unicast (2000::/3)'],
  ['8000::', 1, 'outside IPv6 global unicast (2000::/3)'],
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['64:ff9b:1::', 48, 'local-use IPv4/IPv6 translation'], // its NAT64 gateway is ours, whatever it embeds
  ['100::', 64, 'discard-only'],
  ['100:0:0:1::', 64, 'dummy IPv6 prefix'],
  ['2001::', 23, 'IETF protocol assignments'],
  ['2001::', 32, 'Teredo'], // tunnelled through NAT; the embedded client address is obfuscated
  ['2001:1::1', 128, 'PCP anycast'],
  ['2001:1::2', 128, 'TURN anycast'],
  ['2001:1::3', 128, 'DNS-SD service registration anycast'],
  ['2001:2::', 48, 'benchmarking'],
  ['2001:3::', 32, 'AMT relay'],
  ['2001:4:112::', 48, 'AS112 DNS sink'],
  ['2001:10::', 28, 'deprecated ORCHID'],
  ['2001:20::', 28, 'ORCHIDv2 identifiers'],
  ['2001:30::', 28, 'DRIP entity tags'],
  ['2001:db8::', 32, 'documentation'],
  ['2620:4f:8000::', 48, 'AS112 DNS sink (direct delegation)'],
  ['3fff::', 20, 'documentation'],
  ['5f00::', 16, 'SRv6 segment identifiers'],
  ['fc00::', 7, 'unique local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'deprecated site-local'],
  ['ff00::', 8, 'multicast'],
];

/** [prefix, length, why, byte offset]: the IPv4 address at that offset decides, by the V4 table. */
type Embedding = readonly [prefix: string, length: number, why: string, v4At: number];

const V6_EMBEDDING_V4: readonly Embedding[] = [
  ['::ffff:0:0', 96, 'IPv4-mapped', 12],
  ['::ffff:0:0:0', 96, 'IPv4-translated', 12],
  ['::', 96, 'IPv4-compatible', 12], // deprecated, but a kernel may still route it
  ['64:ff9b::', 96, 'NAT64', 12],
  ['2002::', 16, '6to4', 2],
];

/**
 * Endpoints that hand out this machine's credentials or configuration. Most are already inside
 * a blocked range; listing them lets the error say what they are. 168.63.129.16 is public space
 * but answers only from inside Azure, so it is refused outright.
 */
const METADATA: readonly Entry[] = [
  ['169.254.169.254', 32, 'AWS, Azure, GCP, OCI, OpenStack and others'],
  ['169.254.170.2', 32, 'AWS ECS task credentials'],
  ['169.254.170.23', 32, 'AWS EKS Pod Identity'],
  ['100.100.100.200', 32, 'Alibaba Cloud metadata'],
  ['168.63.129.16', 32, 'Azure WireServer'],
  ['fd00:ec2::254', 128, 'AWS instance metadata'],
  ['fd00:ec2::23', 128, 'AWS EKS Pod Identity'],
  ['fd20:ce::254', 128, 'GCP metadata server'],
  ['fe80::a9fe:a9fe', 128, 'OpenStack metadata'],
];

export interface AddressVerdict {
  blocked: boolean;
  /** What the address is: the matching range ("private", "IPv4-mapped 127.0.0.1: loopback") or "public". */
  why: string;
  /** A cloud metadata endpoint: never to be fetched or allow-listed. */
  metadata: boolean;
}

interface Rule {
  bytes: Uint8Array;
  length: number;
  why: string;
  metadata: boolean;
  v4At: number | undefined;
}

function rule(prefix: string, length: number, why: string, extra: Partial<Rule> = {}): Rule {
  const bytes = addressBytes(prefix);
  // A typo in a table must fail loudly at startup, not leave a hole.
  if (bytes === undefined || length > bytes.length * 8 || !hostBitsZero(bytes, length)) {
    throw new Error(`bad special-address entry ${prefix}/${length}`);
  }
  return { bytes, length, why, metadata: false, v4At: undefined, ...extra };
}

const RULES: readonly Rule[] = [
  ...[...V4, ...V6].map(([prefix, length, why]) => rule(prefix, length, why)),
  ...V6_EMBEDDING_V4.map(([prefix, length, why, v4At]) => rule(prefix, length, why, { v4At })),
  ...METADATA.map(([prefix, length, why]) => rule(prefix, length, why, { metadata: true })),
];

/** Judges an IP literal ("[v6]", zone ids and any letter case accepted); anything else is blocked. */
export function classifyAddress(text: string): AddressVerdict {
  const bytes = addressBytes(text);
  return bytes === undefined ? { blocked: true, why: 'not an IP address', metadata: false } : judge(bytes);
}

function judge(bytes: Uint8Array): AddressVerdict {
  // The longest matching prefix decides, so ::1/128 beats the IPv4-compatible ::/96 and
  // 64:ff9b::/96 beats the catch-all ::/3.
  let best: Rule | undefined;
  for (const r of RULES) {
    if (covers(r, bytes) && (best === undefined || r.length > best.length)) best = r;
  }
  if (best === undefined) return { blocked: false, why: 'public', metadata: false };
  if (best.v4At === undefined) return { blocked: true, why: best.why, metadata: best.metadata };
  const v4 = bytes.subarray(best.v4At, best.v4At + 4);
  const inner = judge(v4);
  return { ...inner, why: `${best.why} ${v4.join('.')}: ${inner.why}` };
}

function covers(r: Rule, bytes: Uint8Array): boolean {
  if (r.bytes.length !== bytes.length) return false;
  for (let bit = 0; bit < r.length; bit += 8) {
    const mask = 0xff & (0xff << Math.max(0, bit + 8 - r.length));
    if (((r.bytes[bit >> 3] ?? 0) & mask) !== ((bytes[bit >> 3] ?? 0) & mask)) return false;
  }
  return true;
}

function hostBitsZero(bytes: Uint8Array, length: number): boolean {
  return bytes.every((byte, i) => (byte & (0xff >> Math.min(8, Math.max(0, length - i * 8)))) === 0);
}

/** 4 or 16 bytes for an IP literal, undefined for anything else. */
function addressBytes(text: string): Uint8Array | undefined {
  const bracketed = text.startsWith('[') && text.endsWith(']');
  let address = bracketed ? text.slice(1, -1) : text;
  if (!address.includes(':')) return !bracketed && isIP(address) === 4 ? Uint8Array.from(address.split('.'), Number) : undefined;
  address = address.replace(/%.*$/, ''); // zone id (fe80::1%eth0): says which link, not which address
  return isIP(address) === 6 ? v6Bytes(address) : undefined;
}

/** Bytes of an IPv6 address that isIP has already validated: "::" expanded, a dotted tail split into two groups. */
function v6Bytes(address: string): Uint8Array {
  const groups = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [parseInt(g, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = g.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const [head = '', tail] = address.split('::');
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}
