/**
 * UDP checks through the API: the routes and the `udp` parameter in the handler (recording
 * probe, real limiter on dynalite, every response validated against the OpenAPI document), then
 * the real local server sending real datagrams on loopback, including the 503 path when it runs
 * out of file descriptors.
 */
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpResponse } from '../../functions/api/http.ts';
import { type LocalApp, startLocalApp } from '../../infra/local/app.ts';
import { apiEvent, type EventSpec, lambdaContext } from '../fixtures/events.ts';
import { buildHarness, type Harness } from '../support/handler-harness.ts';
import { getOnce } from '../support/http-client.ts';
import { startLocalChild } from '../support/local-child.ts';
import { useCounterTable } from '../support/table.ts';

const exec = promisify(execFile);
const PUBLIC_IP = '8.8.8.8';
const table = useCounterTable('udpcheck');

function harness(env: Record<string, string> = {}): Harness {
  return buildHarness({ endpoint: table.endpoint, tableName: table.tableName, env });
}

async function call(h: Harness, spec: EventSpec): Promise<HttpResponse> {
  return h.handler(apiEvent({ sourceIp: PUBLIC_IP, ...spec }), lambdaContext());
}

function detail(response: HttpResponse): string {
  return (JSON.parse(response.body) as { detail: string }).detail;
}

describe('handler: UDP checks', () => {
  it('checks one UDP port with /check/udp/{port}, charged as one probe', async () => {
    const h = harness();
    const response = await call(h, { url: '/check/udp/51820' });
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body).results).toEqual([
      { port: 51820, protocol: 'udp', state: 'open', reason: 'udp-response', rttMs: 1.5 },
    ]);
    expect(h.probeCalls).toEqual([
      {
        target: expect.objectContaining({ address: PUBLIC_IP, family: 4 }),
        ports: [51820],
        timeoutMs: 3000,
        protocol: 'udp',
      },
    ]);
    expect(response.headers.ratelimit).toMatch(/"minute";r=29;/);
  });

  it('checks TCP and UDP ports in one request, TCP first, every port counted', async () => {
    const h = harness();
    const response = await call(h, { url: '/check?ports=22,443&udp=53,443,53' });
    expect(response.statusCode).toBe(200);
    const results = JSON.parse(response.body).results as Array<{ port: number; protocol?: string }>;
    expect(results.map((r) => `${r.port}/${r.protocol ?? 'tcp'}`)).toEqual(['22/tcp', '443/tcp', '53/udp', '443/udp']);
    expect(h.probeCalls.map((c) => [c.protocol ?? 'tcp', c.ports])).toEqual([
      ['tcp', [22, 443]],
      ['udp', [53, 443]],
    ]);
    expect(response.headers.ratelimit).toMatch(/"minute";r=26;/);
  });

  it('checks UDP alone with /check?udp=', async () => {
    const h = harness();
    const response = await call(h, { url: '/check?udp=19132,27015' });
    expect(response.statusCode).toBe(200);
    expect(h.probeCalls.map((c) => c.protocol)).toEqual(['udp']);
  });

  it('renders UDP rows as port/udp in the text table, with the UDP meaning', async () => {
    const h = harness();
    const response = await call(h, { url: '/check?ports=22&udp=53', headers: { 'user-agent': 'curl/8.5.0' } });
    expect(response.body).toMatch(/^22\/tcp\s+open\s+syn-ack\s+1\.5 ms$/m);
    expect(response.body).toMatch(/^53\/udp\s+open\s+udp-response\s+1\.5 ms$/m);
    expect(response.body).toContain('open: a UDP service answered');
    expect(response.body).toContain('open: a service accepted the connection');
  });

  it('refuses bad UDP input with 400 before probing or charging', async () => {
    const h = harness({ MAX_PORTS: '3' });
    const cases: Array<[string, RegExp]> = [
      ['/check/udp/0', /"0" is not a UDP port/],
      ['/check/udp/65536', /is not a UDP port/],
      ['/check/udp/53x', /is not a UDP port/],
      ['/check?udp=0', /"0" is not a UDP port: .* like 51820/],
      ['/check?ports=22&udp=53,x', /"x" is not a UDP port/],
      ['/check?udp=', /empty/],
      ['/check?udp=53&udp=123', /Give "udp" once/],
      ['/check?udp=53,,123', /empty item/],
      ['/check?udp=53%20123', /spaces/],
      ['/check?ports=22,80&udp=53,123', /2 TCP and 2 UDP ports were asked for; at most 3/],
      ['/check?udp=1,2,3,4', /at most 3/],
      ['/check', /udp=53,51820/],
    ];
    for (const [url, message] of cases) {
      const response = await call(h, { url });
      expect(response.statusCode, url).toBe(400);
      expect(detail(response), url).toMatch(message);
    }
    expect(h.probeCalls).toEqual([]);
  });

  it('answers IPv6 callers untestable for UDP too, without charging, when there is no IPv6 egress', async () => {
    const h = harness({ IPV6_EGRESS: 'false' });
    const response = await call(h, { url: '/check/udp/53', sourceIp: '2001:4860:4860::8888' });
    expect(JSON.parse(response.body).results).toEqual([
      { port: 53, protocol: 'udp', state: 'untestable', reason: 'no-ipv6-egress', rttMs: null },
    ]);
    expect(response.headers.ratelimit).toBeUndefined();
    expect(h.probeCalls).toEqual([]);
  });

  it('runs the page form: an empty box beside a filled one means none, both empty is a 400 page', async () => {
    const h = harness();
    const udpOnly = await call(h, { url: '/?ports=&udp=51820', headers: { accept: 'text/html' } });
    expect(udpOnly.statusCode).toBe(200);
    expect(udpOnly.body).toContain('51820/udp');
    const tcpOnly = await call(h, { url: '/?ports=22&udp=', headers: { accept: 'text/html' } });
    expect(tcpOnly.statusCode).toBe(200);
    expect(tcpOnly.body).toContain('22/tcp');
    expect(h.probeCalls.map((c) => [c.protocol ?? 'tcp', c.ports])).toEqual([
      ['udp', [51820]],
      ['tcp', [22]],
    ]);
    const neither = await call(h, { url: '/?ports=&udp=', headers: { accept: 'text/html' } });
    expect(neither.statusCode).toBe(400);
    expect(neither.body).toContain('The ports list is empty');
    expect(h.probeCalls).toHaveLength(2);
  });

  it('refuses non-public callers with 403 before any UDP is sent', async () => {
    const h = harness();
    const response = await call(h, { url: '/check/udp/53', sourceIp: '192.168.1.10' });
    expect(response.statusCode).toBe(403);
    expect(h.probeCalls).toEqual([]);
  });
});

/** A loopback UDP socket that answers every datagram and records what it received. */
async function udpResponder(): Promise<{ port: number; received: Buffer[]; close: () => Promise<void> }> {
  const socket = dgram.createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (message, peer) => {
    received.push(message);
    socket.send(Buffer.from('ok'), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: (socket.address() as AddressInfo).port,
    received,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

describe('local server: UDP on loopback', () => {
  let app: LocalApp;
  beforeAll(async () => {
    app = await startLocalApp({ env: {}, host: '127.0.0.1', port: 0, allowNonPublic: false });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('reads an answering UDP port open and a released one closed, with the proof line when given a token', async () => {
    const responder = await udpResponder();
    const released = await udpResponder();
    await released.close();
    try {
      const reply = await getOnce(`${app.url}/check?udp=${responder.port},${released.port}&token=abcdefghijklmnop`, {
        headers: { accept: 'application/json' },
      });
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.body).results).toMatchObject([
        { port: responder.port, protocol: 'udp', state: 'open', reason: 'udp-response' },
        { port: released.port, protocol: 'udp', state: 'closed', reason: 'port-unreach' },
      ]);
      expect(responder.received.map((b) => b.toString())).toEqual(['DIALBACK abcdefghijklmnop\n']);
    } finally {
      await responder.close();
    }
  });

  it('answers 503, not a port state, when it runs out of file descriptors for UDP sockets', async () => {
    const child = await startLocalChild(['--port', '0']);
    try {
      // Warm up: opens the SDK's keep-alive connection to the embedded table.
      expect((await getOnce(`${child.url}/check/udp/9`, {})).status).toBe(200);
      const { stdout } = await exec('ls', [`/proc/${child.pid}/fd`]);
      const open = stdout.split('\n').filter(Boolean).length;
      await exec('prlimit', [`--pid=${child.pid}`, `--nofile=${open + 3}:${open + 3}`]);
      const reply = await getOnce(`${child.url}/check?udp=9,10,11,12,13,14,15,16,17,18`, {
        headers: { accept: 'application/json' },
      });
      expect(reply.status).toBe(503);
      expect(JSON.parse(reply.body).detail).toMatch(/out of network resources/);
      expect(child.output()).toMatch(/"errorCode":"EMFILE"/);
    } finally {
      await child.stop();
    }
  });
});
