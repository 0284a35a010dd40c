/**
 * The CLI's `fetch`, over `node:http`/`node:https` rather than the global one, for two things
 * the global one cannot do: connect over one IP family only (`--both`, `-4`, `-6` need each
 * check to dial back that family's address), and keep separate deadlines for connecting and
 * for the whole answer, so a black-holed API and a hung one each fail in bounded time with an
 * error that says which it was.
 */
import http from 'node:http';
import https from 'node:https';

/** Deadlines of one request. */
export interface Deadlines {
  /** For the TCP connection to be established. */
  readonly connectMs: number;
  /** For the whole answer, connection included. */
  readonly totalMs: number;
}

/**
 * Codes of the errors this fetch rejects with (as `cause` of a `TypeError`, like the global
 * fetch), beside the socket's own (`ECONNREFUSED`, `ENOTFOUND`, …).
 */
export const FETCH_ERRORS = {
  connectTimeout: 'DIALBACK_CONNECT_TIMEOUT',
  answerTimeout: 'DIALBACK_ANSWER_TIMEOUT',
  tooLarge: 'DIALBACK_ANSWER_TOO_LARGE',
} as const;

/** A Dialback answer is a few kilobytes; anything far bigger is not one. */
const MAX_BODY_BYTES = 1 << 20;

type LookupCallback = (
  error: Error | null,
  address: string | { address: string; family: number }[],
  family?: number,
) => void;

/**
 * `localhost` over one family is that family's loopback address (RFC 6761), whatever the
 * resolver says: a machine whose hosts file lacks `::1 localhost` still reaches a local
 * server's dual-stack endpoint (`http://localhost:PORT`) over IPv6 with -6 or --both.
 */
function loopbackLookup(family: 4 | 6) {
  const address = family === 6 ? '::1' : '127.0.0.1';
  return (_host: string, options: { all?: boolean }, callback: LookupCallback): void => {
    if (options.all === true) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

function coded(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** A `fetch` (GET with headers) with deadlines, over `family` when given. */
export function deadlineFetch(deadlines: Deadlines, family?: 4 | 6): typeof fetch {
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      let settled = false;
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(connectTimer);
        clearTimeout(totalTimer);
        // The global fetch's shape: a TypeError whose cause is the socket error.
        reject(new TypeError('fetch failed', { cause: error }));
      };
      const request = (url.protocol === 'https:' ? https : http).request(
        url,
        {
          method: init?.method ?? 'GET',
          headers: Object.fromEntries(new Headers(init?.headers).entries()),
          // A fresh connection each time, so "connected" is an event this request sees.
          agent: false,
          ...(family === undefined ? {} : { family }),
          ...(family !== undefined && url.hostname === 'localhost' ? { lookup: loopbackLookup(family) } : {}),
          ...(init?.signal ? { signal: init.signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES) {
              request.destroy(coded(FETCH_ERRORS.tooLarge, `the answer is over ${MAX_BODY_BYTES} bytes`));
            } else chunks.push(chunk);
          });
          res.on('error', fail);
          res.on('end', () => {
            if (settled) return;
            settled = true;
            clearTimeout(totalTimer);
            const headers = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
            }
            const status = res.statusCode ?? 502;
            const body = status === 204 || status === 304 ? null : Buffer.concat(chunks);
            // Response refuses statuses outside 200–599; such an answer is not from an HTTP API anyway.
            resolve(new Response(body, { status: status >= 200 && status <= 599 ? status : 502, headers }));
          });
        },
      );
      const connectTimer = setTimeout(() => {
        request.destroy(coded(FETCH_ERRORS.connectTimeout, `no connection within ${deadlines.connectMs} ms`));
      }, deadlines.connectMs);
      const totalTimer = setTimeout(() => {
        request.destroy(coded(FETCH_ERRORS.answerTimeout, `no answer within ${deadlines.totalMs} ms`));
      }, deadlines.totalMs);
      request.on('socket', (socket) => {
        socket.once('connect', () => clearTimeout(connectTimer));
      });
      request.on('error', fail);
      request.end();
    });
}

/** A `fetch` that connects over one IP family only, with the CLI's default deadlines. */
export function familyFetch(family: 4 | 6, deadlines: Deadlines = { connectMs: 5000, totalMs: 30_000 }): typeof fetch {
  return deadlineFetch(deadlines, family);
}
