import type { Logger } from '../common/log.js';
import { DecodeError, ProtocolVersionError } from '../protocol/codec.js';
import type { BatchHandler } from './stream-inbox.js';

/**
 * Wraps a message handler for a StreamInbox: malformed payloads are logged with where they
 * came from and dropped (acknowledged, never retried, never fatal); messages from a peer of
 * another protocol major version are refused with one clear error line per peer and version;
 * the rest are handed on in order. Handler errors propagate so the batch is delivered again.
 */
export function decodingHandler<T>(
  stream: string,
  decode: (payload: Buffer) => T,
  handle: (messages: T[]) => Promise<void>,
  log: Logger,
): BatchHandler {
  const refusedPeers = new Set<string>();
  return async (entries) => {
    const messages: T[] = [];
    for (const { id, payload } of entries) {
      try {
        messages.push(decode(payload));
      } catch (err) {
        if (err instanceof ProtocolVersionError) {
          const key = `${err.peer} ${err.peerVersion.major}`;
          if (!refusedPeers.has(key)) {
            refusedPeers.add(key);
            log.error('messages from a peer of another protocol version refused', { stream, peer: err.peer, error: err.message });
          }
          continue;
        }
        if (!(err instanceof DecodeError)) throw err;
        log.warn('malformed message dropped', { stream, entry: id, bytes: payload.length, error: err.message });
      }
    }
    if (messages.length > 0) await handle(messages);
  };
}

/** Adapts a one-message-at-a-time handler. */
export function oneByOne<T>(handle: (message: T) => Promise<void>): (messages: T[]) => Promise<void> {
  return async (messages) => {
    for (const message of messages) await handle(message);
  };
}
