/**
 * A `fetch` that connects over one IP family only. Node's built-in fetch picks the family
 * itself; `--both` needs to ask the same dual-stack API once over IPv4 and once over IPv6, so
 * that each check dials back the address of that family.
 */
import http from 'node:http';
import https from 'node:https';

/** The subset of `fetch` the typed client uses (GET with headers and a signal). */
export function familyFetch(family: 4 | 6): typeof fetch {
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const request = (url.protocol === 'https:' ? https : http).request(
        url,
        {
          method: init?.method ?? 'GET',
          headers: Object.fromEntries(new Headers(init?.headers).entries()),
          family,
          ...(init?.signal ? { signal: init.signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const headers = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
            }
            const status = res.statusCode ?? 502;
            const body = status === 204 || status === 304 ? null : Buffer.concat(chunks);
            resolve(new Response(body, { status, headers }));
          });
        },
      );
      request.setTimeout(30_000, () => request.destroy(new Error('no answer within 30 s')));
      request.on('error', reject);
      request.end();
    });
}
