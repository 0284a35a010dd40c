/**
 * The local adapter's answers to requests the handler never sees: a body
 * too large, a method Node's parser does not know, CONNECT, a malformed request, and headers
 * that arrive too slowly. Each gets problem+json with the headers every response carries,
 * over a real socket on loopback, instead of Node's bare 400 or a dropped connection.
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/api/handler.ts';
import { type LocalServer, startLocalServer } from '../../infra/local/server.ts';
import { testDeps } from '../support/handler-deps.ts';

const HEADERS_TIMEOUT_MS = 1000;

/** A raw response as read off the socket. */
interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

function parseRaw(raw: string): RawAnswer {
  const split = raw.indexOf('\r\n\r\n');
  const [statusLine = '', ...lines] = raw.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: raw.slice(split + 4) };
}

/**
 * Writes `request` on a fresh connection (then `trickle`, one character per 100 ms, bounded)
 * and reads until the server closes; rejects if it has not within `waitMs`.
 */
function exchange(port: number, request: string, options: { trickle?: string; waitMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    let sent = 0;
    const trickle = setInterval(() => {
      const next = options.trickle?.[sent++];
      if (next === undefined || socket.destroyed) clearInterval(trickle);
      else socket.write(next);
    }, 100);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(`the server did not close within ${options.waitMs ?? 5000} ms; got ${JSON.stringify(received)}`),
      );
    }, options.waitMs ?? 5000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(trickle);
      clearTimeout(timer);
      resolve(received);
    });
    socket.write(request);
  });
}

function expectUsualProblem(answer: RawAnswer, status: number, detail: RegExp): void {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toBe('application/problem+json; charset=utf-8');
  expect(answer.headers['cache-control']).toBe('no-store');
  expect(answer.headers['x-content-type-options']).toBe('nosniff');
  expect(answer.headers['access-control-allow-origin']).toBe('*');
  const problem = JSON.parse(answer.body) as Record<string, unknown>;
  expect(problem).toMatchObject({ status, type: expect.stringMatching(/^urn:dialback:problem:[a-z-]+$/) });
  expect(problem.detail).toMatch(detail);
  expect(problem.requestId).toEqual(expect.any(String));
}

let server: LocalServer;
beforeAll(async () => {
  const deps = testDeps({ RATE_LIMIT_KEY: 'protocol-test-key-0123456789' });
  server = await startLocalServer({
    handler: createHandler(deps),
    host: '127.0.0.1',
    port: 0,
    corsAllowOrigins: () => deps.config.corsAllowOrigins,
    headersTimeoutMs: HEADERS_TIMEOUT_MS,
  });
});
afterAll(async () => {
  await server?.close();
});

describe('local adapter: requests the handler never sees', () => {
  it('answers a body larger than it reads with 413 and the usual headers', async () => {
    const answer = await new Promise<RawAnswer>((resolve, reject) => {
      const req = http.request(`${server.url}/ip`, { method: 'POST', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers as Record<string, string>, body }),
        );
      });
      req.on('error', reject);
      req.end(Buffer.alloc(100 * 1024, 'a'));
    });
    expectUsualProblem(answer, 413, /at most 65536 bytes/);
  });

  it('answers a method Node does not know with 501 problem+json, not a bare 400', async () => {
    const answer = parseRaw(await exchange(server.port, 'FOO /ip HTTP/1.1\r\nHost: x\r\n\r\n'));
    expectUsualProblem(answer, 501, /method/);
  });

  it('answers CONNECT with 501 problem+json instead of dropping the connection', async () => {
    const answer = parseRaw(
      await exchange(server.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'),
    );
    expectUsualProblem(answer, 501, /CONNECT/);
  });

  it('answers a malformed request with 400 problem+json', async () => {
    const answer = parseRaw(await exchange(server.port, 'GET /ip HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n'));
    expectUsualProblem(answer, 400, /malformed/);
  });

  it('cuts headers that arrive too slowly at the configured bound, with 408 problem+json', async () => {
    // One header byte every 100 ms for 6 s: Node checked the bound only every 30 s, so such
    // a client held the connection about 40 s although the bound said 10.
    const raw = await exchange(server.port, 'GET /ip HTTP/1.1\r\nHost: x\r\n', {
      trickle: `X-Slow: ${'a'.repeat(60)}`,
      waitMs: HEADERS_TIMEOUT_MS + 3000,
    });
    expectUsualProblem(parseRaw(raw), 408, /headers/);
  });
});
