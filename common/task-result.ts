/** What a finished image task reports about its output; shared by the wire and BullMQ jobs. */
export interface TaskResult {
  name: string;
  url: string;
  bytes: number;
  width: number;
  height: number;
  format: string;
  durationMs: number;
  downloadMs: number;
  invertMs: number;
  uploadMs: number;
  sourceBytes: number;
}
