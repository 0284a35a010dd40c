/**
 * The localhost adapter: a Node HTTP server that hands each request to the Lambda handler as
 * a payload-v2 event and writes back what it returns, as API Gateway would.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Handler } from '../../functions/api/handler.ts';
import { toApiGatewayEvent } from './event.ts';

/** API Gateway's own limit on a request, mirrored locally. */
const REQUEST_TIMEOUT_MS = 29_000;
/** Largest body read; GET bodies are ignored by the API but must not exhaust memory. */
const MAX_BODY_BYTES = 64 * 1024;
/** Beyond this a too-large body is not even drained. */
const DRAIN_LIMIT_BYTES = 1024 * 1024;

/** A running local server. */
export interface LocalServer {
  /** e.g. `http://127.0.0.1:8787`. */
  readonly url: string;
  readonly port: number;
  /** Stops accepting, lets in-flight requests finish, then resolves. */
  close(): Promise<void>;
}

/** Options of `startLocalServer`. */
export interface LocalServerOptions {
  readonly handler: Handler;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
}

/**
 * Reads the body up to MAX_BODY_BYTES. A larger body resolves `undefined` (answered 413) after
 * it is drained, so the client can read the answer; past DRAIN_LIMIT_BYTES the socket is cut.
 */
function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else if (size > DRAIN_LIMIT_BYTES) req.destroy();
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function serve(handler: Handler, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const body = await readBody(req);
  if (body === undefined) {
    res.writeHead(413, {
      'content-type': 'application/problem+json',
      'cache-control': 'no-store',
      connection: 'close',
    });
    res.end(
      JSON.stringify({
        type: 'urn:dialback:problem:too-large',
        title: 'Payload too large',
        status: 413,
        detail: `Requests carry at most ${MAX_BODY_BYTES} bytes.`,
      }),
    );
    return;
  }
  const deadline = Date.now() + REQUEST_TIMEOUT_MS;
  const result = await handler(toApiGatewayEvent(req, body), {
    awsRequestId: randomUUID(),
    getRemainingTimeInMillis: () => deadline - Date.now(),
  });
  res.writeHead(result.statusCode, result.headers);
  res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
}

/** Starts the adapter; resolves once it listens. */
export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const server = http.createServer(
    { requestTimeout: REQUEST_TIMEOUT_MS + 1000, headersTimeout: 10_000, keepAliveTimeout: 5000 },
    (req, res) => {
      serve(options.handler, req, res).catch(() => {
        // The handler maps its own failures; this is only a broken socket or adapter bug.
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
        res.end();
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
