/**
 * A second "host" on this machine: a network namespace joined to the root one by a veth pair,
 * so an executor can run behind a link the suite cuts (packets dropped, no reset: the other
 * side notices nothing until timeouts). Needs root and `ip`; `create` resolves undefined, with
 * the reason, where that is not allowed.
 */
import { spawnSync } from 'node:child_process';

export interface NetNs {
  name: string;
  /** The root namespace's end: Redis, the source and the fileserver listen here too. */
  hostIp: string;
  nsIp: string;
  cut(): void;
  restore(): void;
  destroy(): void;
}

function ip(...args: string[]): { ok: boolean; err: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  return { ok: r.status === 0, err: (r.stderr || r.error?.message || '').trim() };
}

export function createNetns(): { ns?: NetNs; reason?: string } {
  const tag = `${process.pid % 10000}`;
  const name = `oi-faults-${tag}`;
  const hostDev = `oih${tag}`;
  const nsDev = `oin${tag}`;
  const octet = 100 + (process.pid % 150);
  const hostIp = `10.223.${octet}.1`;
  const nsIp = `10.223.${octet}.2`;
  ip('netns', 'del', name);
  ip('link', 'del', hostDev);
  const steps: string[][] = [
    ['netns', 'add', name],
    ['link', 'add', hostDev, 'type', 'veth', 'peer', 'name', nsDev],
    ['link', 'set', nsDev, 'netns', name],
    ['addr', 'add', `${hostIp}/24`, 'dev', hostDev],
    ['link', 'set', hostDev, 'up'],
    ['netns', 'exec', name, 'ip', 'addr', 'add', `${nsIp}/24`, 'dev', nsDev],
    ['netns', 'exec', name, 'ip', 'link', 'set', nsDev, 'up'],
    ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up'],
  ];
  for (const step of steps) {
    const r = ip(...step);
    if (!r.ok) {
      ip('netns', 'del', name);
      ip('link', 'del', hostDev);
      return { reason: `ip ${step.join(' ')} failed: ${r.err || 'no reason given'}` };
    }
  }
  return {
    ns: {
      name,
      hostIp,
      nsIp,
      cut: () => void ip('link', 'set', hostDev, 'down'),
      restore: () => void ip('link', 'set', hostDev, 'up'),
      destroy: () => {
        ip('netns', 'del', name);
        ip('link', 'del', hostDev);
      },
    },
  };
}
