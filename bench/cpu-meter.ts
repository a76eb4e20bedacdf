/**
 * CPU seconds (user + system, all threads) of the processes a benchmark run uses, read from
 * outside: /proc/<pid>/stat for local processes, INFO cpu for Redis. Reading them costs the
 * measured processes nothing.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { RedisClient } from '../common/redis.js';
import type { CpuShare } from './stats.js';

/** Clock ticks per second of /proc's utime and stime; 100 on every Linux this runs on. */
const TICKS_PER_SECOND = (() => {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const value = Number(out.stdout?.trim());
  return Number.isFinite(value) && value > 0 ? value : 100;
})();

interface ProcStat {
  ppid: number;
  cpuSeconds: number;
}

/** Parses /proc/<pid>/stat; the name field may hold spaces and parentheses, so fields are counted after the last ')'. */
export function parseProcStat(text: string): ProcStat | undefined {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  const ppid = Number(rest[1]);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (![ppid, utime, stime].every(Number.isFinite)) return undefined;
  return { ppid, cpuSeconds: (utime + stime) / TICKS_PER_SECOND };
}

function readStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined; // gone, or not Linux
  }
}

/** CPU seconds a process has used so far; NaN when it cannot be read. */
export function processCpuSeconds(pid: number): number {
  return readStat(pid)?.cpuSeconds ?? Number.NaN;
}

/** Direct children of `ppid` with the node script each runs, e.g. `{ pid, script: 'dist/executor/main.js' }`. */
export function childProcesses(ppid: number): { pid: number; script: string }[] {
  let pids: number[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
  } catch {
    return [];
  }
  return pids
    .filter((pid) => readStat(pid)?.ppid === ppid)
    .map((pid) => {
      let args: string[] = [];
      try {
        args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      } catch {
        // exited meanwhile
      }
      return { pid, script: args.find((a) => a.endsWith('.js')) ?? args[0] ?? '?' };
    });
}

/** A process's peak resident memory so far (VmHWM), in MB; NaN when it cannot be read. */
export function peakRssMb(pid: number): number {
  try {
    return Number(/VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds of the whole Redis server (every client's work, not only ours). */
export async function redisCpuSeconds(redis: RedisClient): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1]);
  return field('used_cpu_user') + field('used_cpu_sys');
}

/** Samples a fixed set of meters before and after a timed section. */
export class CpuMeter {
  private before: number[] = [];

  constructor(private readonly meters: ReadonlyArray<{ process: string; read: () => number | Promise<number> }>) {}

  async start(): Promise<void> {
    this.before = await Promise.all(this.meters.map((m) => m.read()));
  }

  async stop(): Promise<CpuShare[]> {
    const after = await Promise.all(this.meters.map((m) => m.read()));
    return this.meters.map((m, i) => ({ process: m.process, seconds: (after[i] ?? Number.NaN) - (this.before[i] ?? Number.NaN) }));
  }
}
