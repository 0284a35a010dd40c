/**
 * An HTTP proxy on loopback in front of a real Dialback server that lies about what it saw:
 * it forwards every request and lets a test rewrite the answer (drop a header, change a JSON
 * body) or answer a request itself, so a client meets a broken deployment over real sockets.
 */
import http from 'node:http';
import type net from 'node:net';

/** What the proxy changes; everything it is not told to change passes through as it came. */
export interface Rewrites {
  /** Answers a request itself instead of forwarding it; returns whether it did. */
  readonly answer?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
  /** Rewrites the upstream's response headers. */
  readonly headers?: (headers: http.IncomingHttpHeaders) => http.IncomingHttpHeaders;
  /** Rewrites a JSON response body, parsed; given the request's path. */
  readonly json?: (body: Record<string, unknown>, path: string) => Record<string, unknown>;
}

/** A running proxy. */
export interface RewriteProxy {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 that forwards to `upstream` (an `http://host:port` URL). */
export async function startRewriteProxy(upstream: string, rewrites: Rewrites): Promise<RewriteProxy> {
  const server = http.createServer((req, res) => {
    if (rewrites.answer?.(req, res)) return;
    const path = req.url ?? '/';
    const forward = http.request(`${upstream}${path}`, { method: req.method, headers: req.headers }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        let body = Buffer.concat(chunks);
        const headers = { ...(rewrites.headers?.(answer.headers) ?? answer.headers) };
        if (rewrites.json !== undefined && body.length > 0 && /json/.test(headers['content-type'] ?? '')) {
          body = Buffer.from(JSON.stringify(rewrites.json(JSON.parse(body.toString()), path)));
          headers['content-length'] = String(body.length);
          delete headers['transfer-encoding'];
        }
        res.writeHead(answer.statusCode ?? 502, headers).end(body);
      });
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
