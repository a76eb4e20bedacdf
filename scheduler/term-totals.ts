/**
 * Process-wide totals of the leaders' counters. Each leadership term starts its counters at 0;
 * a Prometheus counter must never go down, so a finished term's last values are kept and the
 * current term's are added to them. Pure, and read only at scrape time: the hot path keeps
 * counting into the leader's plain counters and pays nothing for metrics.
 */
import type { LeaderCounters } from './leader-context.js';

export function emptyCounters(): LeaderCounters {
  return { offersReceived: 0, offersAccepted: 0, offersDeclined: 0, tasksLaunched: 0, itemsByOutcome: {}, runsEnded: {} };
}

function addInto(total: LeaderCounters, add: Readonly<LeaderCounters>): void {
  total.offersReceived += add.offersReceived;
  total.offersAccepted += add.offersAccepted;
  total.offersDeclined += add.offersDeclined;
  total.tasksLaunched += add.tasksLaunched;
  for (const [kind, n] of Object.entries(add.itemsByOutcome)) total.itemsByOutcome[kind] = (total.itemsByOutcome[kind] ?? 0) + n;
  for (const [state, reasons] of Object.entries(add.runsEnded)) {
    const into = (total.runsEnded[state] ??= {});
    for (const [reason, n] of Object.entries(reasons)) into[reason] = (into[reason] ?? 0) + n;
  }
}

export class TermTotals {
  private readonly past = emptyCounters();
  private last: Readonly<LeaderCounters> | undefined;

  /**
   * Totals so far, given the current term's counters (undefined while standing by). The
   * previous term's object is still referenced here, so its final values are the ones kept.
   */
  read(current: Readonly<LeaderCounters> | undefined): LeaderCounters {
    if (this.last !== undefined && this.last !== current) addInto(this.past, this.last);
    this.last = current;
    const total = emptyCounters();
    addInto(total, this.past);
    if (current) addInto(total, current);
    return total;
  }
}
