/**
 * A typed JobQueue double with BullMQ's lock semantics (a job is active under one token;
 * finishing it needs that token), recording every call. No Redis.
 */
import type { ImageJobData, ImageJobProgress, ImageJobResult } from '../../common/queue.js';
import type { ActiveJob, JobQueue, QueuedJob } from '../../scheduler/job-queue.js';
import type { RetryOutcome } from '../../scheduler/outcome-report.js';

export interface FakeJob {
  id: string;
  data: ImageJobData;
  attemptsMade: number;
  opts: { attempts: number };
}

export class FakeQueue implements JobQueue {
  waiting: FakeJob[] = [];
  readonly jobs = new Map<string, FakeJob>();
  readonly locks = new Map<string, string>();
  readonly active = new Set<string>();
  calls: string[] = [];
  /** Make the next BullMQ write fail, as when Redis drops a connection. */
  failNextWrite = false;

  add(id: string, url = `http://src/${id}.png`, output = `out-${id}`): FakeJob {
    const job: FakeJob = { id, data: { url, output }, attemptsMade: 0, opts: { attempts: 3 } };
    this.jobs.set(id, job);
    this.waiting.push(job);
    return job;
  }

  /** Puts a job straight into active under `token`, as a previous leader would have left it. */
  activate(id: string, token: string | null, url?: string): FakeJob {
    const job = this.add(id, url);
    this.waiting = this.waiting.filter((j) => j !== job);
    this.active.add(id);
    if (token !== null) this.locks.set(id, token);
    return job;
  }

  private write(): void {
    if (this.failNextWrite) {
      this.failNextWrite = false;
      throw new Error('Connection is closed.');
    }
  }

  private finish(job: QueuedJob, token: string): void {
    this.write();
    const id = String(job.id);
    if (token !== '0' && this.locks.get(id) !== token) throw new Error(`Lock mismatch for job ${id}`);
    if (!this.active.has(id)) throw new Error(`Job ${id} is not in the active state`);
    this.active.delete(id);
    this.locks.delete(id);
  }

  async take(token: string) {
    const job = this.waiting.shift();
    if (!job) return undefined;
    this.active.add(job.id);
    this.locks.set(job.id, token);
    return job as unknown as QueuedJob;
  }
  async fetch(jobId: string) {
    return this.jobs.get(jobId) as unknown as QueuedJob | undefined;
  }
  async activeJobs(): Promise<ActiveJob[]> {
    return [...this.active].map((id) => ({ id, lockToken: this.locks.get(id) ?? null }));
  }
  async keepLocks(items: readonly { jobId: string; token: string }[]) {
    const lost: string[] = [];
    for (const { jobId, token } of items) {
      const current = this.locks.get(jobId);
      if (current === token) continue;
      if (current === undefined && this.active.has(jobId)) this.locks.set(jobId, token);
      else lost.push(token);
    }
    return lost;
  }
  async progress(job: QueuedJob, p: ImageJobProgress) {
    this.write();
    this.calls.push(`progress ${job.id} ${p.state} ${p.stage}`);
  }
  async complete(job: QueuedJob, token: string, r: ImageJobResult) {
    this.finish(job, token);
    this.calls.push(`complete ${job.id} ${r.name}`);
  }
  async retry(job: QueuedJob, token: string, message: string, retryAfterMs?: number): Promise<RetryOutcome> {
    this.finish(job, token);
    const fake = job as unknown as FakeJob;
    fake.attemptsMade++;
    this.calls.push(`retry ${job.id} ${message.split(':')[0]}${retryAfterMs ? ` after ${retryAfterMs}` : ''}`);
    return fake.attemptsMade < fake.opts.attempts ? { retrying: true, delayMs: retryAfterMs ?? 0 } : { retrying: false };
  }
  async failForGood(job: QueuedJob, token: string, message: string) {
    this.finish(job, token);
    this.calls.push(`fail ${job.id} ${message.split(':')[0]}`);
  }
  async reclaim(jobId: string, expectedToken: string | null) {
    if (!this.active.has(jobId) || (this.locks.get(jobId) ?? null) !== expectedToken) return false;
    this.active.delete(jobId);
    this.locks.delete(jobId);
    this.waiting.push(this.jobs.get(jobId)!);
    this.calls.push(`requeue ${jobId}`);
    return true;
  }
  async requeue(jobId: string, token: string, data?: Partial<ImageJobData>) {
    const job = this.jobs.get(jobId)!;
    if (data) job.data = { ...job.data, ...data };
    this.finish(job as unknown as QueuedJob, token);
    this.waiting.push(job);
    this.calls.push(`requeue ${jobId}`);
  }
  async delay(job: QueuedJob, token: string) {
    this.finish(job, token);
    this.calls.push(`delay ${job.id}`);
  }
  async hasRunnableJobs() {
    return this.waiting.length > 0;
  }
  removed: string[] = [];
  async state(jobId: string) {
    if (this.active.has(jobId)) return 'active';
    if (this.waiting.some((j) => j.id === jobId)) return 'waiting';
    return this.jobs.has(jobId) && !this.removed.includes(jobId) ? 'completed' : 'unknown';
  }
  async remove(jobId: string) {
    this.waiting = this.waiting.filter((j) => j.id !== jobId);
    this.removed.push(jobId);
    this.calls.push(`remove ${jobId}`);
  }
  async close() {}
}
