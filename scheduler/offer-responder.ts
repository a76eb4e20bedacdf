/**
 * Answers one offer: takes as many jobs as fit it from the queue, turns them into tasks and
 * launches them, or declines. Jobs whose source host is failing wait (delayed, no attempt
 * spent); jobs whose host already has its share of runs are parked here, locked, and launched
 * by a later offer, so one host's backlog never starves the others nor hammers that host.
 */
import { randomUUID } from 'node:crypto';
import { describeError } from '../common/errors.js';
import { contains, formatResources, subtract } from '../protocol/resources.js';
import type { ImageItem, Offer, Resources, TaskInfo } from '../protocol/types.js';
import { applyJobAction } from './apply-job-action.js';
import { sourceHost } from './host-circuits.js';
import type { QueuedJob } from './job-queue.js';
import type { LeaderContext } from './leader-context.js';
import { planLaunch, tasksThatFit } from './offer-matching.js';
import { splitEvenly } from './task-sizer.js';
import type { LedgerItem, LedgerTask } from './task-ledger.js';
import { validateJobData } from './validate-job.js';

export interface ParkedJob {
  job: QueuedJob;
  token: string;
  host: string;
  sinceMs: number;
}

/** The memory a job asked for beyond the default task size (it ran out once), or undefined. */
function bigMemMb(job: QueuedJob, defaultMemMb: number): number | undefined {
  const memMb = job.data.memMb;
  return typeof memMb === 'number' && memMb > defaultMemMb ? memMb : undefined;
}

/** A job taken for an offer, ready to become a run. */
interface Candidate {
  job: QueuedJob;
  token: string;
  host: string;
  probe: boolean;
}

/** Extra resources an offer must keep after image tasks (services take theirs first). */
export type ServicePlanner = (offer: Offer) => { tasks: TaskInfo[]; used: Resources };

export class OfferResponder {
  /** Jobs held back because their host is at its limit, by token. */
  readonly parked = new Map<string, ParkedJob>();
  draining = false;

  constructor(
    private readonly ctx: LeaderContext,
    private readonly planServices: ServicePlanner = () => ({ tasks: [], used: { cpus: 0, memMb: 0, ports: [] } }),
  ) {}

  async respond(offer: Offer): Promise<void> {
    const ctx = this.ctx;
    ctx.counters.offersReceived++;
    if (this.draining) return this.decline(offer, ctx.opts.refuseSeconds, 'draining');
    const services = this.planServices(offer);
    const free = subtract(offer.resources, services.used);
    const forImages = this.forImages(offer);
    const demand = { ...ctx.opts.task, cpus: ctx.sizer.cpusPerTask(ctx.opts.task.cpus, forImages.cpus) };
    const fit = tasksThatFit(free, demand, ctx.opts.maxTasksPerOffer);
    const perTask = ctx.sizer.imagesPerTask();
    const waitingBig = this.waitingBigJob(free, forImages.memMb);
    const candidates = fit > 0 && !waitingBig ? await this.candidates(fit * perTask, perTask) : [];
    const { tasks: bigTasks, left, small } = this.placeBig(offer, free, candidates, demand.cpus);
    const smallFit = tasksThatFit(left, demand, ctx.opts.maxTasksPerOffer - bigTasks.length);
    const sizes = splitEvenly(small.length, smallFit, perTask);
    const slices = planLaunch(left, demand, sizes.length);
    let next = 0;
    const imageTasks = sizes.map((n, i) => this.launchTask(offer, small.slice(next, (next += n)), slices[i]!));
    for (const c of small.slice(next)) this.parked.set(c.token, { job: c.job, token: c.token, host: c.host, sinceMs: ctx.now() });
    const tasks = [...services.tasks, ...bigTasks, ...imageTasks];
    if (tasks.length === 0) {
      // Nothing fits (or memory is saved up for a big job): hear again when more is free.
      // No work: wait out the refuse period (or a revive).
      if (fit === 0 || waitingBig) return this.decline(offer, 0, waitingBig ? 'saving memory for a big image' : `too small for a task of cpus=${demand.cpus}`);
      ctx.registry.markDeclined(offer.executorId);
      return this.decline(offer, this.parked.size > 0 ? 0 : ctx.opts.refuseSeconds, this.parked.size > 0 ? 'only parked jobs' : 'no work');
    }
    ctx.counters.offersAccepted++;
    ctx.counters.tasksLaunched += tasks.length;
    ctx.send(offer.executorId, { kind: 'launch', offerId: offer.id, tasks });
    ctx.log.debug('launched', { executor: offer.executorId, offer: offer.id, tasks: tasks.length, offered: formatResources(offer.resources) });
  }

  /** The most this executor can ever give image tasks: all it has, less its service instances' (those placed on this offer included). */
  private forImages(offer: Offer): { cpus: number; memMb: number } {
    const total = this.ctx.registry.get(offer.executorId)?.total;
    const services = this.ctx.ledger.tasksOn(offer.executorId).filter((t) => t.info.service);
    return {
      cpus: Math.max(total?.cpus ?? 0, offer.resources.cpus) - services.reduce((n, t) => n + t.info.resources.cpus, 0),
      memMb: Math.max(total?.memMb ?? 0, offer.resources.memMb) - services.reduce((n, t) => n + t.info.resources.memMb, 0),
    };
  }

  /**
   * A parked job that needs more memory than this offer holds but no more than this executor
   * can give image tasks (`imageMemMb`): launch nothing else here, so freed memory adds up until
   * it fits (else small tasks would take every freed slice and it would wait forever). Memory its
   * service instances hold is never freed: saving up for it would stop image work here for good.
   */
  private waitingBigJob(free: Resources, imageMemMb: number): boolean {
    for (const p of this.parked.values()) {
      const memMb = bigMemMb(p.job, this.ctx.opts.task.memMb);
      if (memMb !== undefined && memMb > free.memMb && memMb <= imageMemMb) return true;
    }
    return false;
  }

  /**
   * Jobs that once ran out of memory run alone, with what they said they need (Mesos: the task
   * asks again with more). One that fits no executor at all fails for good; one that does not fit
   * this offer waits, parked, for an offer that holds it.
   */
  private placeBig(offer: Offer, free: Resources, candidates: Candidate[], cpus: number): { tasks: TaskInfo[]; left: Resources; small: Candidate[] } {
    const ctx = this.ctx;
    const tasks: TaskInfo[] = [];
    const small: Candidate[] = [];
    let left = free;
    const largest = Math.max(0, ...ctx.registry.live().map((r) => r.total.memMb));
    for (const c of candidates) {
      const memMb = bigMemMb(c.job, ctx.opts.task.memMb);
      if (memMb === undefined) {
        small.push(c);
        continue;
      }
      const need: Resources = { cpus, memMb, ports: [] };
      if (largest > 0 && memMb > largest) {
        void applyJobAction(ctx.queue, ctx.log, c.job, c.token, {
          kind: 'fail',
          reason: 'IMAGE_TOO_LARGE',
          message: `IMAGE_TOO_LARGE: it needs about ${memMb} MB of memory and the largest executor has ${largest} MB`,
        }).catch((err) => ctx.log.warn('could not fail a job too large for any executor', { job: c.job.id, error: describeError(err) }));
        continue;
      }
      if (contains(left, need)) {
        tasks.push(this.launchTask(offer, [c], need));
        left = subtract(left, need);
      } else {
        this.parked.set(c.token, { job: c.job, token: c.token, host: c.host, sinceMs: ctx.now() });
      }
    }
    return { tasks, left, small };
  }

  private decline(offer: Offer, refuseSeconds: number, why: string): void {
    this.ctx.counters.offersDeclined++;
    this.ctx.log.debug('declined', { executor: offer.executorId, offer: offer.id, refuseSeconds, why, offered: formatResources(offer.resources) });
    this.ctx.send(offer.executorId, { kind: 'decline', offerId: offer.id, refuseSeconds });
  }

  /**
   * Up to `wanted` runnable jobs: parked ones whose host has room first, then fresh ones. A
   * host has room while fewer than HOST_MAX_CONCURRENCY tasks download from it (`perTask` of
   * this offer's images make one task).
   */
  private async candidates(wanted: number, perTask: number): Promise<Candidate[]> {
    const ctx = this.ctx;
    const chosen: Candidate[] = [];
    const starting = new Map<string, number>();
    const room = (host: string) => ctx.ledger.tasksOnHost(host) + Math.ceil((starting.get(host) ?? 0) / perTask) < ctx.opts.hostMaxConcurrency;
    const choose = (c: Candidate) => {
      chosen.push(c);
      starting.set(c.host, (starting.get(c.host) ?? 0) + 1);
    };
    for (const p of [...this.parked.values()]) {
      if (chosen.length >= wanted) break;
      if (!room(p.host)) continue;
      this.parked.delete(p.token);
      choose({ job: p.job, token: p.token, host: p.host, probe: false });
    }
    const missing = wanted - chosen.length;
    if (missing <= 0) return chosen;
    // All fetches at once: they share a round trip, and surplus ones simply come back empty.
    // allSettled, not all: a job already moved to active under its token must still be launched
    // (or failed) even if a sibling fetch failed, or it would sit locked until the sweep.
    const tokens = Array.from({ length: missing }, () => `task-${randomUUID()}`);
    const fetched = await Promise.allSettled(tokens.map((token) => ctx.queue.take(token)));
    for (const [i, result] of fetched.entries()) {
      if (result.status === 'rejected') {
        ctx.log.warn('fetching a job failed', { error: describeError(result.reason) });
        continue;
      }
      const job = result.value;
      if (!job) continue;
      const token = tokens[i]!;
      const problem = validateJobData(job.data);
      if (problem) {
        ctx.log.warn('job has invalid data; failed without retry', { job: job.id, problem });
        await applyJobAction(ctx.queue, ctx.log, job, token, { kind: 'fail', reason: 'INVALID_TASK', message: `INVALID_TASK: ${problem}` });
        continue;
      }
      const host = sourceHost(job.data.url);
      const admission = ctx.circuits.admit(host, ctx.now());
      if (admission.kind === 'wait') {
        await applyJobAction(ctx.queue, ctx.log, job, token, {
          kind: 'delay',
          reason: 'DOWNLOAD_CONNECTION',
          message: `source ${host} is failing; waiting for it without spending an attempt`,
          untilMs: admission.untilMs + Math.round(Math.random() * 500),
        });
        continue;
      }
      if (!room(host) && admission.kind !== 'probe') {
        this.parked.set(token, { job, token, host, sinceMs: ctx.now() });
        continue;
      }
      choose({ job, token, host, probe: admission.kind === 'probe' });
    }
    return chosen;
  }

  /** One task for these jobs (a lone job's task is named by its token), entered in the ledger before it is sent. */
  private launchTask(offer: Offer, jobs: Candidate[], resources: Resources): TaskInfo {
    const ctx = this.ctx;
    const images: ImageItem[] = jobs.map((c) => ({
      token: c.token,
      jobId: String(c.job.id),
      sourceUrl: c.job.data.url,
      outputName: c.job.data.output,
      attempt: c.job.attemptsMade + 1,
    }));
    const taskId = jobs.length === 1 ? jobs[0]!.token : `task-${randomUUID()}`;
    const name = jobs.length === 1 ? `invert job ${jobs[0]!.job.id}` : `invert ${jobs.length} jobs`;
    const info: TaskInfo = { taskId, name, executorId: offer.executorId, resources, images };
    const items = new Map<string, LedgerItem>(
      jobs.map((c, i) => [
        c.token,
        { token: c.token, jobId: images[i]!.jobId, job: c.job, sourceUrl: images[i]!.sourceUrl, host: c.host, state: 'TASK_STAGING', stage: 'none', cancelled: false, probe: c.probe },
      ]),
    );
    const task: LedgerTask = {
      taskId,
      executorId: offer.executorId,
      info,
      launchedAtMs: ctx.now(),
      adopted: false,
      state: 'TASK_STAGING',
      stage: 'none',
      healthy: undefined,
      items,
      seenUuids: new Set(),
    };
    ctx.ledger.add(task);
    return info;
  }

  /** Parked jobs go back to the queue (a handover: nobody runs them). */
  async releaseParked(): Promise<void> {
    for (const p of [...this.parked.values()]) {
      this.parked.delete(p.token);
      await this.ctx.queue.requeue(String(p.job.id), p.token).catch((err) =>
        this.ctx.log.warn('could not return a parked job', { job: p.job.id, error: describeError(err) }),
      );
    }
  }
}
