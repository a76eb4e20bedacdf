/**
 * The value of the leader lease key (common/keys.ts `leader`): "<schedulerId> <epoch>". The
 * scheduler writes it (scheduler/leader-lease.ts); executors (to tell a missing leader from a
 * quiet one), status and the dashboard read it, so the reader lives below all of them.
 */
export interface LeaseHolder {
  schedulerId: string;
  epoch: number;
}

/** Parses the lease value "<schedulerId> <epoch>". */
export function parseLease(value: string | null): LeaseHolder | undefined {
  if (!value) return undefined;
  const at = value.lastIndexOf(' ');
  const epoch = Number(value.slice(at + 1));
  return at > 0 && Number.isInteger(epoch) ? { schedulerId: value.slice(0, at), epoch } : undefined;
}
