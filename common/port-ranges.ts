/**
 * The rules for a port range an executor may offer, shared by the executor's config, `npm start`
 * and the scheduler's check of a registration. Port 0 means "any port" to the OS and can never be
 * launched to; ports below 1024 need root and are usually some system service's, so offering them
 * must be asked for (EXECUTOR_ALLOW_PRIVILEGED_PORTS=1).
 */
export interface PortSpan {
  begin: number;
  end: number;
}

export const FIRST_UNPRIVILEGED_PORT = 1024;
export const PRIVILEGED_PORTS_FLAG = 'EXECUTOR_ALLOW_PRIVILEGED_PORTS';

/** Why this range cannot be offered, or undefined when it can. */
export function portSpanProblem(span: PortSpan, allowPrivileged: boolean): string | undefined {
  const { begin, end } = span;
  if (!Number.isInteger(begin) || !Number.isInteger(end) || begin > end || end > 65535) return `${begin}-${end} is not a port range within 1-65535`;
  if (begin < 1) return `${begin}-${end} includes port 0, which no service can be launched to`;
  if (begin < FIRST_UNPRIVILEGED_PORT && !allowPrivileged) {
    return `${begin}-${end} includes ports below ${FIRST_UNPRIVILEGED_PORT}: set ${PRIVILEGED_PORTS_FLAG}=1 to offer privileged ports`;
  }
  return undefined;
}
