/**
 * The protocol version both sides put on every message. A peer of another major version is
 * refused (its messages are dropped with a clear log line), so a fleet can be upgraded one
 * process at a time: minor versions only add fields that older peers ignore.
 */
import type { ProtocolVersion } from './types.js';
import { DecodeError } from './wire-readers.js';

export const PROTOCOL_VERSION: Readonly<ProtocolVersion> = Object.freeze({ major: 2, minor: 1 });

export function formatVersion(v: ProtocolVersion): string {
  // Version 1 peers sent no version field at all, which decodes as 0.0.
  return v.major === 0 ? 'v1 (no version field)' : `v${v.major}.${v.minor}`;
}

/** Thrown by the decoder for a message from a peer of another major version. */
export class ProtocolVersionError extends DecodeError {
  override readonly name = 'ProtocolVersionError';
  override readonly code = 'PROTOCOL_MISMATCH';
  constructor(
    readonly peer: string,
    readonly peerVersion: ProtocolVersion,
  ) {
    super(
      `${peer} speaks protocol ${formatVersion(peerVersion)}, this process speaks ${formatVersion(PROTOCOL_VERSION)}: ` +
        `its messages are refused; run the same major version on both sides`,
    );
  }
}

export function compatible(v: ProtocolVersion): boolean {
  return v.major === PROTOCOL_VERSION.major;
}
