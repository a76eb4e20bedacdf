/**
 * Entry file of one service instance, a child process of its executor: serves one body on one
 * port until told to stop (SIGTERM), answering its health-check path with 200. It exits when
 * its executor dies (the IPC channel closes), so an instance never outlives its executor and
 * a kill always frees its port.
 */
import { createServer } from 'node:http';

interface InstanceSpec {
  host: string;
  port: number;
  body: string; // base64
  contentType: string;
  healthPath: string;
}

process.on('disconnect', () => process.exit(0));

process.once('message', (message: unknown) => {
  const spec = message as InstanceSpec;
  const body = Buffer.from(spec.body, 'base64');
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === spec.healthPath) {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end('ok\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    res.writeHead(200, { 'content-type': spec.contentType, 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.keepAliveTimeout = 2000;
  server.on('error', (err: NodeJS.ErrnoException) => {
    process.send?.({ error: err.code ?? 'ERROR', message: err.message });
    process.exit(1);
  });
  server.listen(spec.port, spec.host, () => process.send?.({ listening: true }));
  process.on('SIGTERM', () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
});
