/** The scheduler's metrics against a stand-in leader: what a scrape shows in each state. No sockets. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Leader } from '../scheduler/leader.js';
import { schedulerMetrics, type SchedulerView } from '../scheduler/metrics.js';
import { emptyCounters } from '../scheduler/term-totals.js';
import { sample } from './helpers/prometheus-text.js';

/** The parts of a Leader the metrics read. */
function standIn(counters = emptyCounters()): Leader {
  const executors = [{ id: 'a', lost: false }, { id: 'b', lost: true }];
  const double: Pick<Leader, 'counters' | 'activeTasks'> & { registry: { all(): IterableIterator<unknown>; live(): unknown[] } } = {
    counters,
    activeTasks: 3,
    registry: { all: () => executors.values(), live: () => executors.filter((e) => !e.lost) },
  };
  return double as unknown as Leader;
}

async function scrape(view: SchedulerView): Promise<string> {
  const source = schedulerMetrics(view);
  return (await source.registry.metrics()) + ((await source.extraText?.()) ?? '');
}

describe('scheduler metrics', () => {
  it('a standby: leader 0, epoch 0, no queue, counters at 0', async () => {
    let asked = false;
    const text = await scrape({ leader: () => undefined, epoch: () => undefined, queueMetrics: async () => ((asked = true), 'bullmq_job_count 1') });
    assert.equal(sample(text, 'offer_invert_scheduler_leader'), 1 - 1);
    assert.equal(sample(text, 'offer_invert_scheduler_leader_epoch'), 0);
    assert.equal(sample(text, 'offer_invert_scheduler_offers_received_total'), 0);
    assert.equal(sample(text, 'bullmq_job_count'), undefined);
    assert.equal(asked, false, 'a standby does not even ask BullMQ');
  });

  it('a leader: its counters by label, executors registered and live, the queue appended', async () => {
    const counters = emptyCounters();
    Object.assign(counters, { offersReceived: 7, offersAccepted: 5, offersDeclined: 2, tasksLaunched: 4 });
    counters.itemsByOutcome = { complete: 6, retry: 1 };
    counters.runsEnded = { TASK_FINISHED: { '': 6 }, TASK_FAILED: { DOWNLOAD_TIMEOUT: 1 } };
    const leader = standIn(counters);
    const text = await scrape({ leader: () => leader, epoch: () => 42, queueMetrics: async () => 'bullmq_job_count{queue="q", state="completed"} 6' });
    assert.equal(sample(text, 'offer_invert_scheduler_leader', { proc: 'scheduler' }), 1);
    assert.equal(sample(text, 'offer_invert_scheduler_leader_epoch'), 42);
    assert.equal(sample(text, 'offer_invert_scheduler_offers_accepted_total'), 5);
    assert.equal(sample(text, 'offer_invert_scheduler_offers_declined_total'), 2);
    assert.equal(sample(text, 'offer_invert_scheduler_tasks_launched_total'), 4);
    assert.equal(sample(text, 'offer_invert_scheduler_tasks_ended_total', { state: 'TASK_FINISHED', reason: 'none' }), 6);
    assert.equal(sample(text, 'offer_invert_scheduler_tasks_ended_total', { state: 'TASK_FAILED', reason: 'DOWNLOAD_TIMEOUT' }), 1);
    assert.equal(sample(text, 'offer_invert_scheduler_jobs_total', { outcome: 'completed' }), 6);
    assert.equal(sample(text, 'offer_invert_scheduler_jobs_total', { outcome: 'retried' }), 1);
    assert.equal(sample(text, 'offer_invert_scheduler_executors', { status: 'registered' }), 2);
    assert.equal(sample(text, 'offer_invert_scheduler_executors', { status: 'live' }), 1);
    assert.equal(sample(text, 'offer_invert_scheduler_tasks_running'), 3);
    assert.equal(sample(text, 'bullmq_job_count', { state: 'completed' }), 6);
  });

  it('BullMQ failing (Redis away) leaves a comment, not a failed scrape', async () => {
    const leader = standIn();
    const text = await scrape({ leader: () => leader, epoch: () => 1, queueMetrics: async () => Promise.reject(new Error('Connection is closed.')) });
    assert.match(text, /^# queue metrics unavailable: Connection is closed\.$/m);
    assert.equal(sample(text, 'offer_invert_scheduler_leader'), 1, 'the rest is still there');
  });

  it('BullMQ not answering (commands waiting for a reconnection) gives up after 2 s', async () => {
    const leader = standIn();
    const text = await scrape({ leader: () => leader, epoch: () => 1, queueMetrics: () => new Promise<string>(() => undefined) });
    assert.match(text, /^# queue metrics unavailable: no answer from Redis within 2000 ms$/m);
  });
});
