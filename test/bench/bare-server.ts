/**
 * The load benchmark's baseline: a bare Node `http` server on loopback that answers what
 * `/ip` answers (a small JSON body with the caller's address) and nothing more, so the ratio
 * against it is the cost of Dialback itself. Prints its URL like the local server does.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const server = http.createServer((req, res) => {
  const body = `${JSON.stringify({ ip: req.socket.remoteAddress, family: 4, reverseDns: null })}\n`;
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  process.stderr.write(`bare server listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
