import type { Logger } from '../common/log.js';
import { DecodeError } from './codec.js';
import type { EntryHandler } from './stream-inbox.js';

/**
 * Wraps a message handler for a StreamInbox: malformed payloads are logged with where they
 * came from and acknowledged away (never retried, never fatal); handler errors propagate so
 * the entry is delivered again.
 */
export function decodingHandler<T>(
  stream: string,
  decode: (payload: Buffer) => T,
  handle: (message: T) => Promise<void>,
  log: Logger,
): EntryHandler {
  return async (payload, entryId) => {
    let message: T;
    try {
      message = decode(payload);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      log.warn('malformed message dropped', { stream, entry: entryId, bytes: payload.length, error: err.message });
      return;
    }
    await handle(message);
  };
}
