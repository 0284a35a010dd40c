/**
 * What the UDP probe sends to a port. A UDP service stays silent to a datagram it does not
 * understand, so for the well-known ports the probe sends the smallest request the protocol's
 * servers answer: then a live service reads `open` instead of `open|filtered`. The choice of
 * requests follows Nmap's payload database (nmap-payloads) where it has one; the bytes are built
 * here from the protocols' specifications. Every payload asks for nothing but a status reply,
 * changes no state on the server, and goes only to the caller's own address.
 * Any other port gets an empty datagram, as `nmap -sU` sends.
 */
import { Buffer } from 'node:buffer';

/** One protocol request. */
export interface UdpPayload {
  /** What it asks, for documents and the SECURITY.md byte table. */
  readonly name: string;
  readonly bytes: Buffer;
}

/**
 * DNS (RFC 1035): a query for the TXT record "version.bind" in class CHAOS, as Nmap asks. Every
 * DNS server answers it, with the version, REFUSED or NOTIMP; it needs no recursion.
 */
const DNS_VERSION_BIND = Buffer.concat([
  // ID 0x4442 ("DB"), flags 0 (standard query, no recursion), 1 question, no other records.
  Buffer.from([0x44, 0x42, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]),
  Buffer.from('\x07version\x04bind\x00', 'latin1'),
  // QTYPE TXT (16), QCLASS CH (3).
  Buffer.from([0x00, 0x10, 0x00, 0x03]),
]);

/**
 * NTP (RFC 5905): a 48-byte client request, version 4, mode 3, every other field zero, as SNTP
 * clients send. A server answers with its time.
 */
const NTP_CLIENT = Buffer.concat([Buffer.from([0x23]), Buffer.alloc(47)]);

/**
 * STUN (RFC 8489): a Binding request without attributes: type 0x0001, length 0, the magic cookie
 * and a 12-byte transaction id. The answer is the sender's reflexive address.
 */
const STUN_BINDING = Buffer.concat([
  Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]),
  Buffer.from('DialbackSTUN', 'latin1'),
]);

/**
 * QUIC (RFC 9000 §6, RFC 8999): a long-header packet of the reserved version 0x1a2a3a4a, which no
 * server speaks, so a QUIC server answers with a Version Negotiation packet listing its versions.
 * Servers ignore client datagrams below 1200 bytes (§14.1, an anti-amplification rule), so it is
 * padded to exactly 1200: the answer is smaller than the question.
 */
const QUIC_VERSION_NEGOTIATION = (() => {
  const packet = Buffer.alloc(1200);
  const head = Buffer.concat([
    // Long header, fixed bit, Initial type bits; then the reserved version.
    Buffer.from([0xc0, 0x1a, 0x2a, 0x3a, 0x4a]),
    // Destination connection id: 8 bytes; source connection id: 8 bytes.
    Buffer.from([0x08]),
    Buffer.from('Dialback', 'latin1'),
    Buffer.from([0x08]),
    Buffer.from('Dialback', 'latin1'),
  ]);
  head.copy(packet);
  return packet;
})();

/**
 * Minecraft Bedrock (RakNet): an Unconnected Ping (id 0x01), a time of 0, RakNet's offline
 * message magic and a client GUID. The server answers with an Unconnected Pong carrying its MOTD,
 * which is how the game's server list shows a server.
 */
const RAKNET_UNCONNECTED_PING = Buffer.concat([
  Buffer.from([0x01]),
  Buffer.alloc(8),
  Buffer.from('00ffff00fefefefefdfdfdfd12345678', 'hex'),
  Buffer.from('Dialback', 'latin1'),
]);

/**
 * Valve Source engine: A2S_INFO, "\xff\xff\xff\xffTSource Engine Query\0". A server answers with
 * its info, or with a challenge (S2C_CHALLENGE) that asks for it again: either way, an answer.
 */
const A2S_INFO = Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff, 0x54]), Buffer.from('Source Engine Query\0')]);

/**
 * OpenVPN: a P_CONTROL_HARD_RESET_CLIENT_V2 (opcode 7, key id 0), an 8-byte session id, no acks
 * and packet id 0. A server without `tls-auth`/`tls-crypt` answers with its own reset; one with
 * them stays silent (and reads `open|filtered`).
 */
const OPENVPN_RESET = Buffer.concat([Buffer.from([0x38]), Buffer.from('Dialback', 'latin1'), Buffer.alloc(5)]);

/** The payload per well-known port; see each constant above for what it asks. */
export const UDP_PAYLOADS: ReadonlyMap<number, UdpPayload> = new Map([
  [53, { name: 'DNS query for version.bind (CH TXT)', bytes: DNS_VERSION_BIND }],
  [123, { name: 'NTP v4 client request', bytes: NTP_CLIENT }],
  [
    443,
    {
      name: 'QUIC long header of an unsupported version (asks for Version Negotiation)',
      bytes: QUIC_VERSION_NEGOTIATION,
    },
  ],
  [1194, { name: 'OpenVPN hard reset (client v2)', bytes: OPENVPN_RESET }],
  [3478, { name: 'STUN Binding request', bytes: STUN_BINDING }],
  [19132, { name: 'Minecraft Bedrock (RakNet) Unconnected Ping', bytes: RAKNET_UNCONNECTED_PING }],
  [27015, { name: 'Source engine A2S_INFO query', bytes: A2S_INFO }],
]);

const EMPTY: UdpPayload = { name: 'empty datagram', bytes: Buffer.alloc(0) };

/** What the probe sends to `port` when no dial proof was asked for. */
export function payloadFor(port: number): UdpPayload {
  return UDP_PAYLOADS.get(port) ?? EMPTY;
}

/** The largest datagram the probe ever sends, in bytes (the QUIC one). */
export const MAX_UDP_PAYLOAD_BYTES = Math.max(...[...UDP_PAYLOADS.values()].map((p) => p.bytes.length));
