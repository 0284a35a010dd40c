/**
 * A one-shot HTTP GET on a fresh connection (no keep-alive pool), so tests that count file
 * descriptors or watch a server shut down see exactly one connection per request.
 */
import http from 'node:http';

/** What a test reads of a response. */
export interface SimpleResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** Options of `getOnce`. */
export interface GetOptions {
  readonly headers?: Readonly<Record<string, string>>;
  /** The loopback address to connect from (the server sees it as the caller). */
  readonly localAddress?: string;
  readonly timeoutMs?: number;
  /** `GET` unless given (`HEAD` for the HEAD tests). */
  readonly method?: string;
}

/** GETs `url` on its own connection; rejects on a socket error or after `timeoutMs` (20 s). */
export function getOnce(url: string, options: GetOptions = {}): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: options.method ?? 'GET',
        agent: false,
        timeout: options.timeoutMs ?? 20_000,
        headers: { ...options.headers },
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
