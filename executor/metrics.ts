/**
 * The executor's Prometheus metrics: how long each stage of an image takes, bytes moved, tasks
 * running and ended, offers sent. Counted where the executor already does the work (one
 * observation per image, none per message).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { METRIC_PREFIX, processRegistry, type MetricsSource } from '../common/metrics-server.js';
import type { TaskStatus } from '../protocol/types.js';

const P = `${METRIC_PREFIX}executor_`;

/** Seconds: small images take milliseconds, big ones seconds, a slow source up to the download timeout. */
const STAGE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class ExecutorMetrics implements MetricsSource {
  readonly registry: Registry = processRegistry('executor');
  private readonly stageSeconds = new Histogram({
    name: `${P}image_stage_duration_seconds`,
    help: 'Time per image by stage (download, invert, upload) and in all (total), for images that finished',
    labelNames: ['stage'],
    buckets: STAGE_BUCKETS,
    registers: [this.registry],
  });
  private readonly downloaded = new Counter({ name: `${P}downloaded_bytes_total`, help: 'Bytes of source images downloaded', registers: [this.registry] });
  private readonly uploaded = new Counter({ name: `${P}uploaded_bytes_total`, help: 'Bytes of inverted images uploaded to the fileserver', registers: [this.registry] });
  private readonly ended = new Counter({
    name: `${P}tasks_ended_total`,
    help: 'Image runs ended here, by terminal task state and reason (reason "none" when there was none)',
    labelNames: ['state', 'reason'],
    registers: [this.registry],
  });
  private readonly offers = new Counter({ name: `${P}offers_sent_total`, help: 'Offers of free resources sent to the scheduler', registers: [this.registry] });
  private running: () => number = () => 0;

  constructor() {
    const self = this;
    new Gauge({
      name: `${P}tasks_running`,
      help: 'Image tasks running on this executor',
      registers: [this.registry],
      collect() {
        this.set(self.running());
      },
    });
  }

  /** Where the running-task count comes from, once the executor exists. */
  readRunningFrom(running: () => number): void {
    this.running = running;
  }

  offerSent(): void {
    this.offers.inc();
  }

  bytesDownloaded(bytes: number): void {
    this.downloaded.inc(bytes);
  }

  bytesUploaded(bytes: number): void {
    this.uploaded.inc(bytes);
  }

  /** A task's terminal update: each image's outcome, and the stage timings of those that finished. */
  taskEnded(status: TaskStatus): void {
    for (const item of status.items) {
      this.ended.inc({ state: item.state, reason: item.reason ?? 'none' });
      const r = item.result;
      if (item.state !== 'TASK_FINISHED' || !r) continue;
      this.stageSeconds.observe({ stage: 'download' }, r.downloadMs / 1000);
      this.stageSeconds.observe({ stage: 'invert' }, r.invertMs / 1000);
      this.stageSeconds.observe({ stage: 'upload' }, r.uploadMs / 1000);
      this.stageSeconds.observe({ stage: 'total' }, r.durationMs / 1000);
    }
  }
}
