/**
 * The fileserver's Prometheus metrics: uploads by result, bytes received, files served, and
 * request durations. app.ts reports to a FileserverObserver; tests and the dashboard can run
 * the app without one.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import { METRIC_PREFIX, processRegistry, type MetricsSource } from '../common/metrics-server.js';

const P = `${METRIC_PREFIX}fileserver_`;

/** What the app tells about the work it does. */
export interface FileserverObserver {
  /** One image stored (a batch upload reports each of its images). */
  uploadStored(bytes: number): void;
  /** An upload request refused or failed, with the error code it answered. */
  uploadRejected(code: string): void;
  /** A request answered; `route` is the route's pattern (e.g. /files/:name), 'other' for none. */
  requestDone(method: string, route: string, status: number, seconds: number): void;
}

export class FileserverMetrics implements MetricsSource, FileserverObserver {
  readonly registry: Registry = processRegistry('fileserver');
  private readonly uploads = new Counter({
    name: `${P}uploads_total`,
    help: 'Images uploaded, by result: stored, or the error code of a refused upload request',
    labelNames: ['result'],
    registers: [this.registry],
  });
  private readonly received = new Counter({ name: `${P}received_bytes_total`, help: 'Bytes of images stored from uploads', registers: [this.registry] });
  private readonly served = new Counter({
    name: `${P}files_served_total`,
    help: 'Files answered by GET (status 2xx/304), by directory: files (results) or images (sources)',
    labelNames: ['dir'],
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: `${P}http_request_duration_seconds`,
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });

  uploadStored(bytes: number): void {
    this.uploads.inc({ result: 'stored' });
    this.received.inc(bytes);
  }

  uploadRejected(code: string): void {
    this.uploads.inc({ result: code });
  }

  requestDone(method: string, route: string, status: number, seconds: number): void {
    this.duration.observe({ method, route, status: String(status) }, seconds);
    if (method !== 'GET' || !(status < 300 || status === 304)) return;
    if (route === '/files/:name') this.served.inc({ dir: 'files' });
    else if (route === '/images/:name') this.served.inc({ dir: 'images' });
  }
}
