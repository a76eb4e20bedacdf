/**
 * One fault scenario from start to verdict: bring a stack up, enqueue every source, inject the
 * fault once a quarter of the jobs are done, wait for the batch to end, then count: jobs by
 * state, outputs (exactly one per source, each the exact inversion of its source), sources
 * fetched more than once, outputs uploaded more than once, and how long recovery took.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Job } from 'bullmq';
import { outputStem } from '../../common/queue.js';
import type { ClusterState } from '../../common/cluster-state.js';
import { isInversionOf } from './corpus.js';
import { FaultStack, sleep, until } from './fault-stack.js';
import type { NetNs } from './netns.js';

export interface ScenarioResult {
  name: string;
  jobs: number;
  completed: number;
  failed: number;
  missingOutputs: number;
  wrongOutputs: number;
  extraFiles: number;
  /** Sources fetched more than once (a retry or a second run). */
  refetched: number;
  /** Outputs stored more than once (a run that happened twice). */
  reuploaded: number;
  /** Images in flight on the executors the fault hit, while it lasted: the only runs allowed to happen twice. */
  inFlightOnFaulty: number;
  /** Outputs stored twice whose job was not in flight on an executor the fault hit: must be none. */
  doubledElsewhere: number;
  maxUploadsOfOne: number;
  /** Fault end (or the kill) until every job that was running at the fault was done. */
  recoverMs: number;
  /** Longest time without a single job completing, from the fault on. */
  stallMs: number;
  /** Leader killed: until a new leader held the lease. */
  newLeaderMs?: number;
  wallMs: number;
  failures: string[];
}

export interface Fault {
  /** Injects the fault; resolves when it has been removed (or at once for a kill), with that instant. */
  inject(stack: FaultStack): Promise<number>;
  /** Executors whose runs the fault may cut short (and so run twice): none, every one, or these. */
  affects: 'none' | 'all' | string[];
}

export interface ScenarioOptions {
  schedulers?: number;
  executors?: number;
  /** Run one more executor inside `netns`. */
  netns?: NetNs;
  /** Start the schedulers at the same instant instead of one after the other. */
  schedulersAtOnce?: boolean;
  fault: Fault;
}

export async function runScenario(name: string, images: Map<string, Buffer>, opts: ScenarioOptions): Promise<ScenarioResult> {
  const stack = new FaultStack(images, opts.netns?.hostIp ?? '127.0.0.1', opts.netns);
  const started = Date.now();
  try {
    await stack.start();
    stack.startFileserver();
    for (let i = 1; i <= (opts.schedulers ?? 1); i++) {
      stack.startScheduler(`scheduler-${i}`);
      if (!opts.schedulersAtOnce) await until('a leader', () => stack.leader(), 20_000);
    }
    for (let i = 1; i <= (opts.executors ?? 2); i++) stack.startExecutor(`executor-${i}`);
    if (opts.netns) stack.startExecutor('executor-ns', { inNetns: true });
    await stack.ready();

    const ids = await stack.enqueueAll();
    const total = ids.length;
    const completions: number[] = [];
    let lastCompleted = 0;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const { completed } = await stack.counts().catch(() => ({ completed: lastCompleted }));
        for (; lastCompleted < completed; lastCompleted++) completions.push(Date.now());
        await sleep(50);
      }
    })();

    await until('a quarter of the jobs done', async () => ((await stack.counts()).completed >= total / 4 ? true : undefined), 60_000);
    const runningAtFault = await stack.activeJobIds();
    const faultAt = Date.now();
    const leaderBefore = await stack.leader();
    let newLeaderMs: number | undefined;
    const leaderWatch = (async () => {
      while (watching && newLeaderMs === undefined) {
        const now = await stack.leader().catch(() => undefined);
        if (leaderBefore && now && now.epoch > leaderBefore.epoch) newLeaderMs = Date.now() - faultAt;
        await sleep(50);
      }
    })();
    // Which images run where while the fault lasts, from the state the leader publishes.
    const inFlight = new Map<string, Set<string>>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const text = await stack.redis.get(stack.keys.state).catch(() => null);
        const state = text ? (JSON.parse(text) as ClusterState) : undefined;
        for (const e of state?.executors ?? []) {
          const set = inFlight.get(e.id) ?? new Set<string>();
          for (const t of e.tasks) for (const run of t.runs) set.add(run.jobId);
          inFlight.set(e.id, set);
        }
        await sleep(100);
      }
    })();
    const restoredAt = await opts.fault.inject(stack);
    await sleep(2_000); // what the last published state before the fault showed is in; let the kills land
    sampling = false;
    await sampler;
    await until(
      'every job to complete or fail',
      async () => {
        const c = await stack.counts();
        return c.completed + c.failed >= total ? true : undefined;
      },
      180_000,
      100,
    ).catch((err: Error) => {
      throw new Error(`${name}: ${err.message}\n${stack.tail()}`);
    });
    watching = false;
    await Promise.all([watcher, leaderWatch]);

    const counts = await stack.counts();
    const finishedAt = await Promise.all(runningAtFault.map(async (id) => (await Job.fromId(stack.queue, id))?.finishedOn ?? Date.now()));
    const recoverMs = Math.max(0, Math.max(restoredAt, ...finishedAt) - restoredAt);
    const after = [faultAt, ...completions.filter((t) => t >= faultAt)];
    const stallMs = after.slice(1).reduce((max, t, i) => Math.max(max, t - after[i]!), 0);

    // Outputs: exactly one per source, named from its URL, each the exact inversion of its source.
    const files = new Set((await readdir(stack.uploadDir)).filter((f) => !f.startsWith('.')));
    const failures: string[] = [];
    let missing = 0;
    let wrong = 0;
    let index = 0;
    for (const source of images.keys()) {
      const expected = `${outputStem(stack.sourceUrl(source))}.png`;
      if (!files.delete(expected)) {
        missing++;
        failures.push(`no output for ${source}`);
      } else if (!(await isInversionOf(await readFile(join(stack.uploadDir, expected)), index))) {
        wrong++;
        failures.push(`${expected} is not the inversion of ${source}`);
      }
      index++;
    }
    const uploads = stack.uploadsByName();
    const affected = opts.fault.affects === 'all' ? [...inFlight.keys()] : opts.fault.affects === 'none' ? [] : opts.fault.affects;
    const allowed = new Set(affected.flatMap((e) => [...(inFlight.get(e) ?? [])]));
    const jobOfOutput = new Map<string, string>();
    for (const job of await stack.queue.getJobs(['completed'])) if (job?.returnvalue) jobOfOutput.set(job.returnvalue.name, String(job.id));
    const doubled = [...uploads].filter(([, n]) => n > 1).map(([name]) => name);
    const doubledElsewhere = doubled.filter((name) => !allowed.has(jobOfOutput.get(name) ?? ''));
    for (const name of doubledElsewhere) failures.push(`${name} was stored twice but its job was not in flight on ${affected.join(', ') || 'any faulty executor'}`);
    const result: ScenarioResult = {
      name,
      jobs: total,
      completed: counts.completed,
      failed: counts.failed,
      missingOutputs: missing,
      wrongOutputs: wrong,
      extraFiles: files.size,
      refetched: [...stack.source.fetches.values()].filter((n) => n > 1).length,
      reuploaded: doubled.length,
      inFlightOnFaulty: allowed.size,
      doubledElsewhere: doubledElsewhere.length,
      maxUploadsOfOne: Math.max(0, ...uploads.values()),
      recoverMs,
      stallMs,
      wallMs: Date.now() - started,
      failures: failures.slice(0, 10),
    };
    if (newLeaderMs !== undefined) result.newLeaderMs = newLeaderMs;
    if (counts.failed > 0) {
      const failedJobs = await stack.queue.getFailed(0, 5);
      result.failures.push(...failedJobs.map((j) => `job ${j.id} failed: ${j.failedReason}`));
    }
    return result;
  } finally {
    await stack.teardown();
  }
}

/** The suite's results as a markdown table (docs/faults.md's failure table is filled from it). */
export function resultsTable(results: ScenarioResult[]): string {
  const s = (ms: number | undefined) => (ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`);
  const rows = results.map(
    (r) =>
      `| ${r.name} | ${r.completed}/${r.jobs} | ${r.failed} | ${r.jobs - r.missingOutputs - r.wrongOutputs}/${r.jobs} | ${r.refetched} | ${r.reuploaded} (of ${r.inFlightOnFaulty}) | ${s(r.newLeaderMs)} | ${s(r.stallMs)} | ${s(r.recoverMs)} | ${s(r.wallMs)} |`,
  );
  return [
    '| fault | jobs completed | failed | outputs correct | sources fetched twice | outputs stored twice (of images in flight where it hit) | new leader | longest stall | recovered | run |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
