/**
 * The scheduler's Prometheus metrics. Everything is read from the leader's own counters and
 * registry when scraped (scheduler/term-totals.ts), so dispatching pays nothing for them.
 * Queue metrics come from BullMQ's export, and only from the leader: a standby reports
 * leader=0 and no queue.
 */
import { Counter, Gauge } from 'prom-client';
import { describeError } from '../common/errors.js';
import { METRIC_PREFIX, processRegistry, type MetricsSource } from '../common/metrics-server.js';
import type { LeaderCounters } from './leader-context.js';
import type { SchedulerService } from './scheduler-service.js';
import { TermTotals } from './term-totals.js';

const P = `${METRIC_PREFIX}scheduler_`;

/** BullMQ's action names -> the label a dashboard reads. */
const OUTCOME_LABEL: Record<string, string> = { complete: 'completed', retry: 'retried', fail: 'failed', requeue: 'requeued', delay: 'delayed' };

/** What the metrics read of a scheduler; main.ts passes it before the service exists. */
export type SchedulerView = Pick<SchedulerService, 'leader' | 'epoch' | 'queueMetrics'>;

export function schedulerMetrics(service: SchedulerView): MetricsSource {
  const registry = processRegistry('scheduler');
  const totals = new TermTotals();
  // Read per metric at scrape time: a few small objects per scrape, nothing per job.
  const read = () => totals.read(service.leader()?.counters);

  const counter = (name: string, help: string, value: (c: LeaderCounters) => number) =>
    new Counter({
      name: `${P}${name}`,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(value(read()));
      },
    });

  new Gauge({
    name: `${P}leader`,
    help: '1 while this scheduler leads, 0 while it stands by',
    registers: [registry],
    collect() {
      this.set(service.leader() ? 1 : 0);
    },
  });
  new Gauge({
    name: `${P}leader_epoch`,
    help: 'Fencing epoch of the term this scheduler leads (0 while standing by)',
    registers: [registry],
    collect() {
      this.set(service.epoch() ?? 0);
    },
  });
  counter('offers_received_total', 'Offers received from executors', (c) => c.offersReceived);
  counter('offers_accepted_total', 'Offers answered with a launch', (c) => c.offersAccepted);
  counter('offers_declined_total', 'Offers declined (no work, or waiting for a bigger one)', (c) => c.offersDeclined);
  counter('tasks_launched_total', 'Tasks launched (an image task carries one or more images)', (c) => c.tasksLaunched);
  new Counter({
    name: `${P}tasks_ended_total`,
    help: 'Image runs ended, by terminal task state and reason (reason "none" when there was none)',
    labelNames: ['state', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [state, reasons] of Object.entries(read().runsEnded)) {
        for (const [reason, n] of Object.entries(reasons)) this.inc({ state, reason: reason === '' ? 'none' : reason }, n);
      }
    },
  });
  new Counter({
    name: `${P}jobs_total`,
    help: 'Job outcomes written to BullMQ: completed, retried, failed (for good), requeued (no attempt spent), delayed (host circuit)',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [kind, n] of Object.entries(read().itemsByOutcome)) this.inc({ outcome: OUTCOME_LABEL[kind] ?? kind }, n);
    },
  });
  new Gauge({
    name: `${P}executors`,
    help: 'Executors this leader knows: registered (all), live (not lost)',
    labelNames: ['status'],
    registers: [registry],
    collect() {
      const leader = service.leader();
      let registered = 0;
      if (leader) for (const _ of leader.registry.all()) registered++;
      this.set({ status: 'registered' }, registered);
      this.set({ status: 'live' }, leader ? leader.registry.live().length : 0);
    },
  });
  new Gauge({
    name: `${P}tasks_running`,
    help: 'Tasks launched and not ended yet, as this leader sees them',
    registers: [registry],
    collect() {
      this.set(service.leader()?.activeTasks ?? 0);
    },
  });

  return {
    registry,
    extraText: async () => (service.leader() ? queueText(service) : ''),
  };
}

/** Longest a scrape waits for BullMQ: with Redis away its commands wait for the reconnection. */
const QUEUE_METRICS_TIMEOUT_MS = 2_000;

/**
 * BullMQ's export, or a comment saying why not: a Redis outage is when the other metrics matter
 * most, so it must not fail (or hang) the whole scrape.
 */
async function queueText(service: SchedulerView): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis within ${QUEUE_METRICS_TIMEOUT_MS} ms`)), QUEUE_METRICS_TIMEOUT_MS);
  });
  try {
    return await Promise.race([service.queueMetrics(), timeout]);
  } catch (err) {
    return `# queue metrics unavailable: ${describeError(err).replace(/\s+/g, ' ')}\n`;
  } finally {
    clearTimeout(timer);
  }
}
