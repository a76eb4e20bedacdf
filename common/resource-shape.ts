/**
 * What an executor has and offers: cpus, memory and port ranges. In common/ because the wire
 * (protocol/types.ts re-exports it) and the published cluster state (cluster-state.ts) both use it.
 */
export interface PortRange {
  begin: number;
  end: number; // inclusive, as in Mesos
}

export interface Resources {
  cpus: number;
  memMb: number;
  ports: PortRange[];
}
