import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { MAX_UDP_PAYLOAD_BYTES, payloadFor, UDP_PAYLOADS } from '../../functions/core/udp-payloads.ts';
import { DEFAULT_UDP_DATAGRAMS } from '../../functions/core/udp-probe.ts';

/** Reads a DNS name at `offset`; returns the dotted name and the offset after it. */
function dnsName(bytes: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let at = offset;
  for (let length = bytes[at] ?? 0; length > 0; length = bytes[at] ?? 0) {
    labels.push(bytes.subarray(at + 1, at + 1 + length).toString('latin1'));
    at += 1 + length;
  }
  return { name: labels.join('.'), next: at + 1 };
}

function bytesOf(port: number): Buffer {
  const payload = UDP_PAYLOADS.get(port);
  if (payload === undefined) throw new Error(`no payload for ${port}`);
  return payload.bytes;
}

describe('udp payloads', () => {
  it('asks DNS for version.bind CH TXT in one well-formed question', () => {
    const dns = bytesOf(53);
    expect(dns.readUInt16BE(2)).toBe(0); // a query, no recursion asked
    expect([dns.readUInt16BE(4), dns.readUInt16BE(6), dns.readUInt16BE(8), dns.readUInt16BE(10)]).toEqual([1, 0, 0, 0]);
    const { name, next } = dnsName(dns, 12);
    expect(name).toBe('version.bind');
    expect([dns.readUInt16BE(next), dns.readUInt16BE(next + 2)]).toEqual([16, 3]);
    expect(dns.length).toBe(next + 4);
  });

  it('sends NTP a 48-byte version 4 client request', () => {
    const ntp = bytesOf(123);
    expect(ntp.length).toBe(48);
    expect(ntp[0]).toBe(0x23); // LI 0, version 4, mode 3 (client)
    expect(ntp.subarray(1).every((b) => b === 0)).toBe(true);
  });

  it('sends STUN a Binding request with the magic cookie and no attributes', () => {
    const stun = bytesOf(3478);
    expect(stun.length).toBe(20);
    expect(stun.readUInt16BE(0)).toBe(0x0001);
    expect(stun.readUInt16BE(2)).toBe(0);
    expect(stun.readUInt32BE(4)).toBe(0x2112a442);
  });

  it('sends QUIC a 1200-byte long header of a reserved version, so servers answer Version Negotiation', () => {
    const quic = bytesOf(443);
    expect(quic.length).toBe(1200);
    expect((quic[0] ?? 0) & 0xc0).toBe(0xc0);
    const version = quic.readUInt32BE(1);
    // RFC 9000 §15: versions 0x?a?a?a?a are reserved to force version negotiation.
    expect(version & 0x0f0f0f0f).toBe(0x0a0a0a0a);
    expect(quic[5]).toBe(8);
    // Two 8-byte connection ids, each after its length byte; then only padding.
    expect(quic.subarray(5, 23).toString('latin1')).toBe('\x08Dialback\x08Dialback');
    expect(quic.subarray(23).every((b) => b === 0)).toBe(true);
  });

  it('sends Bedrock a RakNet Unconnected Ping with the offline magic', () => {
    const ping = bytesOf(19132);
    expect(ping.length).toBe(33);
    expect(ping[0]).toBe(0x01);
    expect(ping.subarray(9, 25).toString('hex')).toBe('00ffff00fefefefefdfdfdfd12345678');
  });

  it('sends Source servers A2S_INFO', () => {
    expect(bytesOf(27015).toString('latin1')).toBe('\xff\xff\xff\xffTSource Engine Query\0');
  });

  it('sends OpenVPN a client hard reset (opcode 7, key 0)', () => {
    const reset = bytesOf(1194);
    expect((reset[0] ?? 0) >> 3).toBe(7);
    expect(reset.length).toBe(14);
  });

  it('sends any other port an empty datagram, and nothing larger than the QUIC one anywhere', () => {
    expect(payloadFor(51820)).toEqual({ name: 'empty datagram', bytes: Buffer.alloc(0) });
    for (const [port, payload] of UDP_PAYLOADS) expect(payloadFor(port)).toBe(payload);
    expect(MAX_UDP_PAYLOAD_BYTES).toBe(1200);
  });
});

describe('SECURITY.md', () => {
  it('matches the byte table in SECURITY.md', async () => {
    const text = await readFile(new URL('../../SECURITY.md', import.meta.url), 'utf8');
    for (const [port, payload] of UDP_PAYLOADS) {
      const size = payload.bytes.length;
      expect(text).toContain(`| ${port} | ${payload.name} | ${size} | ${size * DEFAULT_UDP_DATAGRAMS} |`);
    }
    expect(DEFAULT_UDP_DATAGRAMS).toBe(8);
  });
});
