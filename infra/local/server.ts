/**
 * The localhost adapter: a Node HTTP server that hands each request to the Lambda handler as
 * a payload-v2 event and writes back what it returns, as API Gateway would. What API Gateway
 * refuses before the function runs (too large, too slow, malformed, an unknown method or
 * CONNECT) is answered here, as problem+json with the headers every response carries.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Handler } from '../../functions/api/handler.ts';
import { type HttpResponse, withCommonHeaders } from '../../functions/api/http.ts';
import { problemResponse } from '../../functions/api/problem.ts';
import { ProtocolRefused, RateLimited, Unavailable } from '../../functions/core/errors.ts';
import { socketSourceIp, toApiGatewayEvent } from './event.ts';
import { clientAddress, type ProxyTrust } from './forwarded.ts';
import { createInFlightGate, type InFlightGate } from './in-flight.ts';

/** API Gateway's own limit on a request, mirrored locally. */
const REQUEST_TIMEOUT_MS = 29_000;
/** How long a client may take to send its whole request (past API Gateway's own limit). */
const WHOLE_REQUEST_TIMEOUT_MS = REQUEST_TIMEOUT_MS + 1000;
/** How long a client may take to send its request headers. */
const HEADERS_TIMEOUT_MS = 10_000;
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
  /**
   * CORS allow-list for the answers the adapter gives itself (the config's); read when one is
   * given, because the local app builds its config after it knows the ports it listens on.
   */
  readonly corsAllowOrigins: () => readonly string[];
  /** Proxies whose forwarding header names the caller (`--trust-proxy`); none by default. */
  readonly trustProxy?: ProxyTrust;
  /**
   * Requests in flight per caller and in total (in-flight.ts); share one gate between the
   * listeners of one app. Default: a gate of this server's own with the default limits.
   */
  readonly inFlight?: InFlightGate;
  /** Bound on receiving a request's headers; default 10 s. */
  readonly headersTimeoutMs?: number;
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

/** The adapter's own refusal, as the handler would have answered it. */
export function refusal(
  error: ProtocolRefused | RateLimited | Unavailable,
  origin: string | undefined,
  allowOrigins: readonly string[],
): HttpResponse {
  const response = problemResponse(error, randomUUID(), []);
  return withCommonHeaders(response, origin, allowOrigins);
}

/** Writes `response` on a socket Node's HTTP server has given up on, then closes it. */
function writeRaw(socket: Duplex, response: HttpResponse): void {
  const head = [
    `HTTP/1.1 ${response.statusCode} ${http.STATUS_CODES[response.statusCode] ?? ''}`,
    ...Object.entries(response.headers).map(([name, value]) => `${name}: ${value}`),
    `content-length: ${Buffer.byteLength(response.body)}`,
    'connection: close',
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${response.body}`);
}

/** What Node's parser (llhttp) or its timers refused, in words for the caller. */
function protocolRefusal(code: string | undefined, headersTimeoutMs: number): ProtocolRefused {
  switch (code) {
    case 'HPE_INVALID_METHOD':
      return new ProtocolRefused(501, 'This server does not implement that method; Dialback answers GET.');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ProtocolRefused(
        408,
        `The request did not arrive in time (its headers within ${headersTimeoutMs / 1000} s, all of it within ${WHOLE_REQUEST_TIMEOUT_MS / 1000} s), so the connection was closed.`,
      );
    case 'HPE_HEADER_OVERFLOW':
      return new ProtocolRefused(431, 'The request headers are larger than this server reads.');
    default:
      return new ProtocolRefused(400, 'The request is malformed HTTP/1.1, so it was not read.');
  }
}

async function serve(
  options: LocalServerOptions,
  gate: InFlightGate,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const refuse = (error: ProtocolRefused | RateLimited | Unavailable, headers: Record<string, string> = {}): void => {
    const response = refusal(error, req.headers.origin, options.corsAllowOrigins());
    res.writeHead(response.statusCode, { ...response.headers, ...headers });
    res.end(response.body);
  };
  const body = await readBody(req);
  if (body === undefined) {
    refuse(new ProtocolRefused(413, `Requests carry at most ${MAX_BODY_BYTES} bytes.`), { connection: 'close' });
    return;
  }
  const client = clientAddress(socketSourceIp(req), req.rawHeaders, options.trustProxy);
  if (!client.ok) {
    refuse(new ProtocolRefused(client.problem === 'untrusted-proxy' ? 403 : 400, client.detail));
    return;
  }
  const admission = gate.enter(client.address);
  if (!admission.admitted) {
    refuse(
      admission.over === 'caller'
        ? new RateLimited(
            'This address has as many requests in flight as one caller may; send more as these finish.',
            1,
          )
        : new Unavailable("The server is busy with other callers' checks; try again in a second.", 1),
    );
    return;
  }
  try {
    const deadline = Date.now() + REQUEST_TIMEOUT_MS;
    const result = await options.handler(toApiGatewayEvent(req, body, client.address), {
      awsRequestId: randomUUID(),
      getRemainingTimeInMillis: () => deadline - Date.now(),
    });
    res.writeHead(result.statusCode, result.headers);
    res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
  } finally {
    admission.leave();
  }
}

/** Starts the adapter; resolves once it listens. */
export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const headersTimeoutMs = options.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
  const gate = options.inFlight ?? createInFlightGate();
  const server = http.createServer(
    {
      requestTimeout: WHOLE_REQUEST_TIMEOUT_MS,
      headersTimeout: headersTimeoutMs,
      // Node enforces both timeouts only when it sweeps its connections, every 30 s by
      // default: a slow-header client held a connection ~40 s under a 10 s bound.
      connectionsCheckingInterval: Math.min(1000, headersTimeoutMs / 4),
      keepAliveTimeout: 5000,
    },
    (req, res) => {
      serve(options, gate, req, res).catch(() => {
        // The handler maps its own failures; this is only a broken socket or adapter bug.
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
        res.end();
      });
    },
  );
  // Without these, Node answers a parse error with a bare 400 and drops a CONNECT unanswered.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    writeRaw(socket, refusal(protocolRefusal(error.code, headersTimeoutMs), undefined, options.corsAllowOrigins()));
  });
  server.on('connect', (req: http.IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    const notTunnel = new ProtocolRefused(501, 'CONNECT is not implemented: Dialback is not a proxy.');
    writeRaw(socket, refusal(notTunnel, req.headers.origin, options.corsAllowOrigins()));
  });
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
