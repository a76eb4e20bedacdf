/**
 * Adjusts a run's job action for its source host's circuit: a host fault while the host's
 * circuit is open (or the one that opens it) makes the job wait, without spending an attempt,
 * until the circuit half-opens; a success closes the circuit. Pure apart from the circuits'
 * own state, which it updates.
 */
import { isHostFault } from '../common/errors.js';
import { MAX_RETRY_DELAY_MS } from '../common/queue.js';
import type { HostCircuits } from './host-circuits.js';
import type { JobAction } from './status-to-job.js';

export interface RunHost {
  host: string;
  probe: boolean;
}

/** Up to this share of the wait is added at random, so a host's jobs do not return in one burst. */
const WAIT_SPREAD = 0.5;

export function applyCircuit(
  action: JobAction,
  run: RunHost,
  circuits: HostCircuits,
  nowMs: number,
  random: () => number = Math.random,
): JobAction {
  if (action.kind === 'progress' || run.host === '') return action;
  if (action.kind === 'complete') {
    circuits.success(run.host);
    return action;
  }
  if (action.kind === 'retry' && isHostFault(action.reason)) {
    // A Retry-After counts as one fault of the host; only this job waits for it (the closed
    // circuit's retry honours it, and so does the wait below), the host's other jobs wait at
    // most the circuit's own backoff.
    const untilMs = circuits.failure(run.host, nowMs);
    if (untilMs === undefined) return action;
    const spread = Math.round((untilMs - nowMs) * WAIT_SPREAD * random());
    const askedUntilMs = nowMs + Math.min(MAX_RETRY_DELAY_MS, action.retryAfterMs ?? 0);
    return {
      kind: 'delay',
      reason: action.reason,
      message: `${action.message} (source ${run.host} is failing: waiting for it without spending an attempt)`,
      untilMs: Math.max(untilMs + spread, askedUntilMs),
    };
  }
  // Any other end of a probe says nothing about the host: let another probe go.
  if (run.probe) circuits.probeAbandoned(run.host);
  return action;
}
