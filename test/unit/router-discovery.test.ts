/**
 * Router discovery's budget and its reading of bad answers, with real UDP sockets on loopback
 * standing in for the gateway's port 5351 (the lab has the real miniupnpd): a silent router
 * costs the budget and no more, resends follow RFC 6886's schedule, garbage is no answer, and a
 * router that speaks NAT-PMP only is read as such. SSDP's multicast is refused by the tests'
 * connect guard here, which discovery must take as "no UPnP", not as a crash.
 */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { NAT_PMP_PORT } from '../../functions/cli/nat-pmp.ts';
import {
  DISCOVERY_BUDGET_MS,
  discoverRouter,
  RESEND_AFTER_MS,
  routerIo,
} from '../../functions/cli/router-discovery.ts';

const TARGET = { port: 40000, protocol: 'tcp' } as const;

/** A UDP "router" on 127.0.0.1:5351 (or `address`) that answers each datagram with what `reply` returns (or nothing). */
async function fakeGateway(
  reply: (request: Buffer) => Buffer | undefined,
  address = '127.0.0.1',
): Promise<{
  received: Buffer[];
  senders: string[];
  arrivals: { version: number; at: number }[];
  close(): void;
}> {
  const socket = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
  const received: Buffer[] = [];
  const senders: string[] = [];
  const arrivals: { version: number; at: number }[] = [];
  socket.on('message', (message, from) => {
    received.push(message);
    arrivals.push({ version: message[0] ?? -1, at: performance.now() });
    senders.push(from.address);
    const answer = reply(message);
    if (answer !== undefined) socket.send(answer, from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(NAT_PMP_PORT, address, resolve));
  return { received, senders, arrivals, close: () => socket.close() };
}

let gateway: Awaited<ReturnType<typeof fakeGateway>> | undefined;
afterEach(() => {
  gateway?.close();
  gateway = undefined;
});

describe('discoverRouter over real sockets', () => {
  it('gives up on a silent router at the budget, having resent as scheduled', async () => {
    gateway = await fakeGateway(() => undefined);
    // The default budget leaves the last resend (750 ms) 1.25 s of room before the deadline, so
    // a starved event loop on a busy machine still sends it; at 900 ms a 150 ms stall lost it.
    const budget = DISCOVERY_BUDGET_MS;
    const started = performance.now();
    const facts = await discoverRouter(routerIo(), '127.0.0.1', '127.0.0.1', TARGET, budget);
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(budget - 10);
    // Never hangs: bounded by the budget, with room for a busy machine (the bench measures it).
    expect(took).toBeLessThan(2 * budget);
    expect(facts).toEqual({ gateway: '127.0.0.1', elapsedMs: expect.any(Number) });
    // NAT-PMP's question and PCP's, each sent once and resent after 250 and 750 ms.
    expect(gateway.received.length).toBe(2 * (1 + RESEND_AFTER_MS.length));
    for (const kind of [0, 2]) {
      const at = gateway.arrivals.filter((a) => a.version === kind).map((a) => a.at - started);
      expect(at).toHaveLength(1 + RESEND_AFTER_MS.length);
      const gaps = at.slice(1).map((t) => t - (at[0] ?? 0));
      // Measured where they arrive: a first datagram held up in a busy sender arrives late and
      // shortens the gap (244.6 ms for 250 once), so "not early" has 100 ms of room; a resend
      // sent at once, or on another schedule, still falls outside it.
      gaps.forEach((gap, i) => {
        expect(gap).toBeGreaterThanOrEqual((RESEND_AFTER_MS[i] ?? 0) - 100);
      });
    }
  });

  it('takes garbage, short and oversized answers as no answer', async () => {
    let n = 0;
    const junk = [Buffer.from('hello'), Buffer.alloc(0), Buffer.alloc(1200, 2), Buffer.from('0080', 'hex')];
    gateway = await fakeGateway(() => junk[n++ % junk.length]);
    const facts = await discoverRouter(routerIo(), '127.0.0.1', '127.0.0.1', TARGET, 900);
    expect(facts.natPmp).toBeUndefined();
    expect(facts.pcp).toBeUndefined();
  });

  it('reads a NAT-PMP-only router: its external address, and PCP answered with "unsupported version"', async () => {
    gateway = await fakeGateway((request) =>
      request[0] === 0
        ? Buffer.from('008000000000002a0b000002', 'hex')
        : Buffer.from('008000010000002a00000000', 'hex'),
    );
    const facts = await discoverRouter(routerIo(), '127.0.0.1', '127.0.0.1', TARGET, 6000);
    expect(facts.natPmp).toEqual({ result: 'success', code: 0, externalAddress: '11.0.0.2' });
    expect(facts.pcp).toBeUndefined();
    // It answered at once: the budget is not spent waiting for SSDP, which the guard refused.
    // The budget is long so that "at once" has room on a busy machine and waiting does not.
    expect(facts.elapsedMs).toBeLessThan(3000);
  });

  it('keeps a NAT-PMP failure as words, without an address', async () => {
    gateway = await fakeGateway((request) =>
      request[0] === 0 ? Buffer.from('008000030000002a00000000', 'hex') : undefined,
    );
    const facts = await discoverRouter(routerIo(), '127.0.0.1', '127.0.0.1', TARGET, 600);
    expect(facts.natPmp).toEqual({ result: 'network failure (it has no external address)', code: 3 });
  });

  it("asks an IPv6 gateway over PCP only (NAT-PMP is IPv4's), from the address its ANNOUNCE names", async () => {
    // PCP ANNOUNCE answered with success: version 2, response bit, result 0.
    gateway = await fakeGateway(() => Buffer.from(`0280000000000000${'00'.repeat(16)}`, 'hex'), '::1');
    const facts = await discoverRouter(routerIo(), '::1', '::1', TARGET, 600);
    expect(facts.pcp).toEqual({ result: 'success' });
    expect(facts.natPmp).toBeUndefined();
    expect(gateway.received.length).toBeGreaterThan(0);
    expect(gateway.received.every((m) => m[0] === 2)).toBe(true);
    expect(new Set(gateway.senders)).toEqual(new Set(['::1']));
  });
});
