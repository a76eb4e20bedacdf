/**
 * The image source of the fault suite: serves an in-memory corpus over HTTP, counts every GET
 * per image, and can go down (refusing connections) and come back on the same port.
 */
import { createServer, type Server } from 'node:http';

export interface SourceServer {
  port: number;
  /** GETs that reached the server, by image name. */
  fetches: Map<string, number>;
  /** Closes the listener and every open connection: new connections are refused until `resume`. */
  refuse(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

export async function startSourceServer(images: Map<string, Buffer>, opts: { host: string; delayMs: number }): Promise<SourceServer> {
  const fetches = new Map<string, number>();
  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    const name = decodeURIComponent((req.url ?? '/').slice(1).split('?')[0] ?? '');
    const body = images.get(name);
    if (req.method !== 'GET' || !body) {
      res.writeHead(404).end();
      return;
    }
    fetches.set(name, (fetches.get(name) ?? 0) + 1);
    setTimeout(() => res.writeHead(200, { 'content-type': 'image/png', 'content-length': body.length }).end(body), opts.delayMs);
  };
  let server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, opts.host, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const stop = (s: Server) =>
    new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  return {
    port,
    fetches,
    refuse: () => stop(server),
    resume: async () => {
      server = createServer(handler);
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, opts.host, resolve));
    },
    close: () => (server.listening ? stop(server) : Promise.resolve()),
  };
}
