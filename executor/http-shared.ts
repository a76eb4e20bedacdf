/** Pieces the downloader and the uploader share. */
import http from 'node:http';
import https from 'node:https';

/**
 * One keep-alive pool per client: reusing connections to the same host saves a TCP (and TLS)
 * handshake per image, which dominates small transfers.
 */
export function keepAliveAgents(): { http: http.Agent; https: https.Agent } {
  return { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
}

// A function, not an inline check, so TypeScript does not narrow `aborted` across an await.
export function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}
