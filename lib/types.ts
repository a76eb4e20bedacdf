/**
 * The public types of `offer-invert` as a library. Self-contained on purpose (no imports): a
 * user's strict TypeScript build with skipLibCheck off reads only these, not BullMQ's or ioredis's.
 */

export interface ClientOptions {
  /** Redis the stack uses. Default: REDIS_URL, else redis://127.0.0.1:6379 (as the CLIs). */
  redisUrl?: string;
  /** BullMQ queue the scheduler serves. Default: QUEUE_NAME, else "images". */
  queueName?: string;
  /** Where relative URLs resolve. Default: IMAGES_BASE_URL, else FILESERVER_URL/images/ (as `enqueue`). */
  imagesBaseUrl?: string;
}

export interface EnqueueOptions {
  /** Add fresh jobs even for URLs already queued or done. Default false: each URL is added once. */
  again?: boolean;
}

/** One job of the queue: what enqueue hands out and waitFor, cancel take back. */
export interface JobRef {
  /** BullMQ job id (`url-<hash>`, derived from the normalised URL). */
  id: string;
  /** The normalised URL the job inverts. */
  url: string;
}

export interface EnqueuedJob extends JobRef {
  /** 0-based position of the URL in the list given to enqueue. */
  index: number;
  /** True when the job was already in the queue (queued, running or done) and was not added again. */
  existing: boolean;
}

/** A URL of the list that was not enqueued, and why (the same reasons `npm run enqueue` prints). */
export interface RejectedUrl {
  /** 0-based position in the list. */
  index: number;
  text: string;
  reason: string;
  /** For a duplicate: the index of the first occurrence, whose job stands for both. */
  duplicateOf?: number;
}

export interface EnqueueResult {
  /** One per distinct valid URL, in list order. */
  jobs: EnqueuedJob[];
  /** Invalid and duplicate entries, in list order. */
  rejected: RejectedUrl[];
}

export type JobState = 'completed' | 'failed';

export interface JobError {
  /** A stable code such as DOWNLOAD_FAILED, NOT_AN_IMAGE, CANCELLED; UNKNOWN when the job carries none. */
  code: string;
  message: string;
}

export interface JobResult extends JobRef {
  state: JobState;
  /** Completed: the output's file name in the fileserver's upload directory. */
  output?: string;
  /** Failed: why. */
  error?: JobError;
  /** Runs the job took (a completed job that ran once: 1). */
  attempts: number;
}

export interface WaitProgress {
  total: number;
  completed: number;
  failed: number;
  /** Jobs a task runs right now. */
  active: number;
  elapsedMs: number;
}

export interface WaitOptions {
  /** Give up after this long: the promise rejects with a WaitTimeoutError carrying what finished. */
  timeoutMs: number;
  /** Abort the wait (the jobs keep running; cancel them with client.cancel). */
  signal?: AbortSignal;
  /** Called about every progressEveryMs while waiting, and once at the end. */
  onProgress?: (progress: WaitProgress) => void;
  /** Default 500. */
  progressEveryMs?: number;
}

export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  prioritized: number;
  completed: number;
  failed: number;
}

export interface CancelResult {
  /** Waiting or delayed jobs removed from the queue. */
  removed: string[];
  /** Running jobs killed (they end failed with code CANCELLED). */
  killed: string[];
  /** Running jobs that finished before the kill arrived. */
  finishedAnyway: string[];
  /** Still running when the wait ended: the leading scheduler kills them when it can. */
  stillRunning: string[];
  alreadyFinished: string[];
  notFound: string[];
}

export interface CancelOptions {
  /** How long to wait for running jobs to stop. Default 10000. */
  waitMs?: number;
}

export interface OfferInvertClient {
  readonly redisUrl: string;
  readonly queueName: string;
  /** Validates, dedups and adds the URLs; bad ones are reported in `rejected`, never thrown. */
  enqueue(urls: readonly string[], options?: EnqueueOptions): Promise<EnqueueResult>;
  /** One result per ref, in the refs' order, once every job completed or failed for good. */
  waitFor(refs: readonly JobRef[], options: WaitOptions): Promise<JobResult[]>;
  /** The same results one at a time, as each job finishes. */
  results(refs: readonly JobRef[], options: WaitOptions): AsyncIterableIterator<JobResult>;
  counts(): Promise<QueueCounts>;
  cancel(refs: readonly JobRef[] | readonly string[], options?: CancelOptions): Promise<CancelResult>;
  close(): Promise<void>;
}
