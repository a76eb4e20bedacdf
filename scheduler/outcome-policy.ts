/**
 * Adjusts a run's job action for its source host's circuit: a host fault while the host's
 * circuit is open (or the one that opens it) makes the job wait, without spending an attempt,
 * until the circuit half-opens; a success closes the circuit. Pure apart from the circuits'
 * own state, which it updates.
 */
import { isHostFault } from '../common/errors.js';
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
    const untilMs = circuits.failure(run.host, nowMs, action.retryAfterMs);
    if (untilMs === undefined) return action;
    const spread = Math.round((untilMs - nowMs) * WAIT_SPREAD * random());
    return {
      kind: 'delay',
      reason: action.reason,
      message: `${action.message} (source ${run.host} is failing: waiting for it without spending an attempt)`,
      untilMs: untilMs + spread,
    };
  }
  // Any other end of a probe says nothing about the host: let another probe go.
  if (run.probe) circuits.probeAbandoned(run.host);
  return action;
}
