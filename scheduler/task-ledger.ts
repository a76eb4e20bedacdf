/**
 * What the leader believes runs where: tasks by id, each with its image items (one BullMQ job
 * and lock token each) or its service instance. Pure state; the leader rebuilds it after a
 * failover from BullMQ's active jobs and the executors' reconcile answers.
 */
import type { Stage, TaskInfo, TaskState } from '../protocol/types.js';
import type { QueuedJob } from './job-queue.js';

export interface LedgerItem {
  token: string;
  jobId: string;
  job: QueuedJob;
  sourceUrl: string;
  /** Source host ("host:port"), for circuits and the per-host limit. */
  host: string;
  state: TaskState;
  stage: Stage;
  /** A user cancelled the job: its kill ends it as CANCELLED, not retried. */
  cancelled: boolean;
  /** This run is its host's half-open probe. */
  probe: boolean;
  /** Its outcome is being written to the job right now. */
  settling?: boolean;
}

export interface LedgerTask {
  taskId: string;
  executorId: string;
  info: TaskInfo;
  launchedAtMs: number;
  /** Taken over from a previous leader (or an executor's report) rather than launched here. */
  adopted: boolean;
  state: TaskState;
  stage: Stage;
  healthy: boolean | undefined;
  items: Map<string, LedgerItem>;
  seenUuids: Set<string>;
  /** Where its launch landed in the executor's inbox (stream entry id), once sent. */
  launchEntryId?: string;
}

export class TaskLedger {
  private readonly tasks = new Map<string, LedgerTask>();
  private readonly tokens = new Map<string, string>(); // item token -> task id
  /** Tasks with an unfinished image of each host: a task downloads one image at a time. */
  private readonly hostTasks = new Map<string, Map<string, number>>();

  add(task: LedgerTask): void {
    this.tasks.set(task.taskId, task);
    for (const item of task.items.values()) this.indexItem(task.taskId, item);
  }

  private indexItem(taskId: string, item: LedgerItem): void {
    this.tokens.set(item.token, taskId);
    const tasks = this.hostTasks.get(item.host) ?? new Map<string, number>();
    tasks.set(taskId, (tasks.get(taskId) ?? 0) + 1);
    this.hostTasks.set(item.host, tasks);
  }

  private unindexItem(taskId: string, item: LedgerItem): void {
    this.tokens.delete(item.token);
    const tasks = this.hostTasks.get(item.host);
    if (!tasks) return;
    const n = (tasks.get(taskId) ?? 1) - 1;
    if (n > 0) tasks.set(taskId, n);
    else tasks.delete(taskId);
    if (tasks.size === 0) this.hostTasks.delete(item.host);
  }

  get(taskId: string): LedgerTask | undefined {
    return this.tasks.get(taskId);
  }

  /** The task and item an image token belongs to. */
  byToken(token: string): { task: LedgerTask; item: LedgerItem } | undefined {
    const taskId = this.tokens.get(token);
    const task = taskId === undefined ? undefined : this.tasks.get(taskId);
    const item = task?.items.get(token);
    return task && item ? { task, item } : undefined;
  }

  hasToken(token: string): boolean {
    return this.tokens.has(token);
  }

  /** Removes one item; a task left with no items (and no service) is forgotten. */
  removeItem(token: string): void {
    const found = this.byToken(token);
    if (!found) return;
    found.task.items.delete(token);
    this.unindexItem(found.task.taskId, found.item);
    if (found.task.items.size === 0 && !found.task.info.service) this.tasks.delete(found.task.taskId);
  }

  forget(taskId: string): void {
    const task = this.tasks.get(taskId);
    if (!task) return;
    for (const item of task.items.values()) this.unindexItem(taskId, item);
    this.tasks.delete(taskId);
  }

  tasksOn(executorId: string): LedgerTask[] {
    return [...this.tasks.values()].filter((t) => t.executorId === executorId);
  }

  all(): IterableIterator<LedgerTask> {
    return this.tasks.values();
  }

  *items(): Generator<{ task: LedgerTask; item: LedgerItem }> {
    for (const task of this.tasks.values()) for (const item of task.items.values()) yield { task, item };
  }

  /** Tasks that still have an image of this host to run. */
  tasksOnHost(host: string): number {
    return this.hostTasks.get(host)?.size ?? 0;
  }

  get size(): number {
    return this.tasks.size;
  }

  get itemCount(): number {
    return this.tokens.size;
  }
}
