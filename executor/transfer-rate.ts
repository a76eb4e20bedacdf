/**
 * Minimum transfer rate for a download, so a source that drips bytes cannot hold a task slot for
 * the whole download timeout. The rate is the average since the response started; it can only
 * fall while no bytes arrive, so one timer set for the moment it would drop below the minimum is
 * enough, and it also fires when nothing at all follows the headers (no progress event then).
 */

export interface TransferRateOptions {
  /** Below this average, after the grace period, the download is too slow; 0 disables the check. */
  minBytesPerSecond: number;
  /** How long after the response starts the rate is first judged (slow start, TCP ramp-up). */
  graceMs: number;
}

/** Longest single timer: setTimeout overflows past 2^31-1 ms and would fire at once. */
const MAX_CHECK_DELAY_MS = 60_000;

/** 'too-slow', or how many ms until the rate is worth looking at again if no more bytes arrive. */
export function nextRateCheck(transferred: number, elapsedMs: number, opts: TransferRateOptions): number | 'too-slow' {
  if (elapsedMs < opts.graceMs) return Math.min(opts.graceMs - elapsedMs, MAX_CHECK_DELAY_MS);
  // The elapsed time at which `transferred` bytes is exactly the minimum average.
  const dueMs = (transferred * 1000) / opts.minBytesPerSecond;
  if (elapsedMs > dueMs) return 'too-slow';
  return Math.min(Math.floor(dueMs - elapsedMs) + 1, MAX_CHECK_DELAY_MS);
}

export interface TransferRateWatch {
  /** Report the bytes received so far; the first call marks the start of the response. */
  progress(transferred: number): void;
  /** Clears the timer; call on every way out of the download. */
  stop(): void;
}

export function watchTransferRate(opts: TransferRateOptions, onTooSlow: (reason: string) => void): TransferRateWatch {
  let startedAt = 0;
  let transferred = 0;
  let timer: NodeJS.Timeout | undefined;
  let state: 'waiting' | 'watching' | 'stopped' = opts.minBytesPerSecond > 0 ? 'waiting' : 'stopped';

  const check = (): void => {
    if (state !== 'watching') return;
    const elapsedMs = performance.now() - startedAt;
    const next = nextRateCheck(transferred, elapsedMs, opts);
    if (next !== 'too-slow') {
      timer = setTimeout(check, next);
      return;
    }
    state = 'stopped';
    onTooSlow(
      `${transferred} bytes in ${(elapsedMs / 1000).toFixed(1)} s since the response started, ` +
        `below the minimum of ${opts.minBytesPerSecond} bytes/s`,
    );
  };

  return {
    progress(bytes) {
      transferred = bytes;
      if (state !== 'waiting') return;
      state = 'watching';
      startedAt = performance.now();
      check();
    },
    stop() {
      state = 'stopped';
      clearTimeout(timer);
    },
  };
}
