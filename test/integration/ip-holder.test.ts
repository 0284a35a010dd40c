import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { localHolders } from '../../functions/build/holders-data.ts';
import type { HolderSource } from '../../functions/core/network-holder.ts';
import { apiEvent, type EventSpec, lambdaContext } from '../fixtures/events.ts';
import { runCaptured } from '../support/cli-run.ts';
import { buildHarness, type Harness, type HarnessOptions } from '../support/handler-harness.ts';
import { useCounterTable } from '../support/table.ts';

const table = useCounterTable('ip-holder');
const dataset = localHolders();

/** The shipped dataset, counting how often a route asked for it. */
function counted(): { holders: HolderSource; loads: () => number } {
  let loads = 0;
  return {
    holders: () => {
      loads++;
      return dataset();
    },
    loads: () => loads,
  };
}

function harness(options: Partial<HarnessOptions> = {}): Harness {
  return buildHarness({ endpoint: table.endpoint, tableName: table.tableName, holders: dataset, ...options });
}

async function ip(h: Harness, spec: EventSpec): Promise<{ status: number; body: string }> {
  const response = await h.handler(apiEvent({ url: '/ip', ...spec }), lambdaContext());
  return { status: response.statusCode, body: response.body };
}

describe('/ip: who holds the address', () => {
  it('answers network, holder, country and the data date for IPv4 and IPv6 (entries of the shipped dataset)', async () => {
    const h = harness();
    const date = (await dataset())?.date;
    expect(date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(JSON.parse((await ip(h, { sourceIp: '2.58.100.7' })).body)).toMatchObject({
      ip: '2.58.100.7',
      asn: 3320,
      org: 'Deutsche Telekom AG',
      country: 'DE',
      networkKind: null,
      dataDate: date,
    });
    expect(JSON.parse((await ip(h, { sourceIp: '2001:678:36c::9' })).body)).toMatchObject({
      family: 6,
      asn: 3320,
      org: 'Deutsche Telekom AG',
      country: 'DE',
      dataDate: date,
    });
  });

  it('prints the address alone on the first line, then the holder and, for a listed network, the note', async () => {
    const h = harness();
    const curl = { 'user-agent': 'curl/8.5.0' };
    expect((await ip(h, { sourceIp: '2.58.100.7', headers: curl })).body).toBe(
      '2.58.100.7\nAS3320 Deutsche Telekom AG · DE\n',
    );
    const cloud = (await ip(h, { sourceIp: '3.5.140.2', headers: curl })).body.split('\n');
    expect(cloud[0]).toBe('3.5.140.2');
    expect(cloud[1]).toMatch(/^AS16509 Amazon\.com, Inc\. · [A-Z]{2}$/);
    expect(cloud[2]).toBe(
      'This address belongs to Amazon.com, Inc., a hosting or cloud network: if that is not your ISP, the check reached that network, not your router.',
    );
  });

  it('answers nulls for a non-public address, with the local-check notice, without reading the dataset', async () => {
    const { holders, loads } = counted();
    const h = harness({ policy: 'public-and-loopback', holders });
    const body = JSON.parse((await ip(h, { sourceIp: '127.0.0.1' })).body);
    expect(body).toMatchObject({ asn: null, org: null, country: null, networkKind: null, dataDate: null });
    const text = (await ip(h, { sourceIp: '127.0.0.1', headers: { 'user-agent': 'curl/8.5.0' } })).body;
    expect(text.split('\n')[0]).toBe('127.0.0.1');
    expect(text).toMatch(/local/i);
    expect(loads()).toBe(0);
  });

  it('never reads the dataset on the /check path', async () => {
    const { holders, loads } = counted();
    const h = harness({ holders });
    const response = await h.handler(apiEvent({ url: '/check/443', sourceIp: '2.58.100.7' }), lambdaContext());
    expect(response.statusCode).toBe(200);
    expect(loads()).toBe(0);
    await ip(h, { sourceIp: '2.58.100.7' });
    expect(loads()).toBe(1);
  });

  it('shows the holder under the address on the page, with the credit the licence asks for', async () => {
    const h = harness();
    const page = (
      await h.handler(apiEvent({ url: '/', sourceIp: '2.58.100.7', headers: { accept: 'text/html' } }), lambdaContext())
    ).body;
    expect(page).toMatch(
      /<p class="meta" id="holder">AS3320 Deutsche Telekom AG · DE <small>\(<a href="https:\/\/db-ip\.com">IP to ASN data by DB-IP/,
    );
    expect(page).not.toContain('holder-note');
    const cloud = (
      await h.handler(apiEvent({ url: '/', sourceIp: '3.5.140.2', headers: { accept: 'text/html' } }), lambdaContext())
    ).body;
    expect(cloud).toContain('This address belongs to Amazon.com, Inc., a hosting or cloud network');
  });

  it('prints the holder line and the note in "dialback ip", from the real handler seeing a public caller', async () => {
    const h = harness();
    // The handler behind a loopback server, as if the request had come from a public address.
    const caller = { value: '2.58.100.7' };
    const server = createServer((req, res) => {
      void h.handler(apiEvent({ url: req.url ?? '/', sourceIp: caller.value }), lambdaContext()).then((answer) => {
        res.writeHead(answer.statusCode, answer.headers).end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect(await runCaptured(['ip', '--api', api])).toEqual({
        code: 0,
        out: '2.58.100.7\nAS3320 Deutsche Telekom AG · DE\n',
        err: '',
      });
      caller.value = '3.5.140.2';
      const cloud = await runCaptured(['ip', '--api', api]);
      expect(cloud.out).toMatch(
        /^3\.5\.140\.2\nAS16509 Amazon\.com, Inc\. · [A-Z]{2}\nThis address belongs to Amazon\.com, Inc\., a hosting or cloud network/,
      );
    } finally {
      server.close();
    }
  });
});
