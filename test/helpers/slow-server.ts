import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';

/** Serves files from `dir` under /slow/ after `delayMs`, so tasks stay running for a while. */
export async function slowImageServer(dir: string, delayMs: number): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    setTimeout(async () => {
      try {
        const data = await readFile(join(dir, decodeURIComponent((req.url ?? '').replace(/^\/slow\//, '').split('?')[0] ?? '')));
        res.writeHead(200, { 'content-length': data.length }).end(data);
      } catch {
        res.writeHead(404).end('not found');
      }
    }, delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/slow/`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
