/**
 * PCP (RFC 6887) MAP and ANNOUNCE messages as bytes, for UDP 5351 on the gateway: requests
 * built from plain values, answers read back strictly (a wrong length, version or opcode is no
 * answer). A router that speaks only NAT-PMP answers a PCP request with a NAT-PMP
 * "unsupported version", which `decodePcpAnswer` reports as such. Pure; sockets live elsewhere.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** The result codes RFC 6887 §7.4 defines, as the doctor says them. */
const RESULTS: readonly string[] = [
  'success',
  'unsupported version',
  'not authorized',
  'malformed request',
  'unsupported opcode',
  'unsupported option',
  'malformed option',
  'network failure',
  'no resources',
  'unsupported protocol',
  'user exceeded quota',
  'cannot provide the external port',
  'address mismatch (a NAT between this machine and the router?)',
  'excessive remote peers',
];

/** The words for a PCP result code. */
export function pcpResultText(code: number): string {
  return RESULTS[code] ?? `result code ${code}`;
}

const VERSION = 2;
const OPCODE_ANNOUNCE = 0;
const OPCODE_MAP = 1;
const HEADER = 24;
const MAP_BODY = 36;
/** RFC 6887 §7: a PCP message is at most 1100 bytes. */
const MAX_MESSAGE = 1100;
const IANA_PROTOCOL = { tcp: 6, udp: 17 } as const;

/** An address as PCP carries it: 16 bytes, IPv4 as an IPv4-mapped IPv6 address. */
export function addressBytes(address: string): Uint8Array {
  const bytes = new Uint8Array(16);
  if (isIPv4(address)) {
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    bytes.set(address.split('.').map(Number), 12);
    return bytes;
  }
  if (!isIPv6(address)) throw new Error(`not an IP address: ${address}`);
  const [head = '', tail = ''] = address.split('::');
  const groups = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const front = groups(head);
  const back = address.includes('::') ? groups(tail) : [];
  const all = [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  all.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  return bytes;
}

/** 16 PCP address bytes as text: dotted IPv4 for an IPv4-mapped address, else IPv6 (uncompressed). */
export function addressText(bytes: Uint8Array): string {
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return Array.from(bytes.subarray(12, 16)).join('.');
  return Array.from({ length: 8 }, (_, i) => (((bytes[i * 2] ?? 0) << 8) | (bytes[i * 2 + 1] ?? 0)).toString(16)).join(
    ':',
  );
}

function header(opcode: number, lifetimeSeconds: number, client: string, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, VERSION);
  view.setUint8(1, opcode);
  view.setUint32(4, lifetimeSeconds);
  bytes.set(addressBytes(client), 8);
  return bytes;
}

/** ANNOUNCE (opcode 0): asks nothing of the router but whether it speaks PCP (RFC 6887 §14.1). */
export function encodeAnnounce(client: string): Uint8Array {
  return header(OPCODE_ANNOUNCE, 0, client, HEADER);
}

/** A MAP request: `lifetimeSeconds` 0 deletes the mapping the same nonce made. */
export interface PcpMapRequest {
  /** This machine's address as it sends to the router (the router checks it: address mismatch). */
  readonly client: string;
  /** 12 random bytes; the router ties the mapping to them, so deletion needs the same ones. */
  readonly nonce: Uint8Array;
  readonly protocol: 'tcp' | 'udp';
  readonly internalPort: number;
  readonly externalPort: number;
  readonly lifetimeSeconds: number;
}

/**
 * MAP (opcode 1): 60 bytes, suggesting the same external port. IPv4: any external address.
 * IPv6: the internal address itself, since a router that only firewalls IPv6 maps it to itself
 * (RFC 6887 §11, a pinhole): the external address it answers is then this machine's own.
 */
export function encodeMapRequest(request: PcpMapRequest): Uint8Array {
  if (request.nonce.length !== 12) throw new Error('a PCP nonce is 12 bytes');
  const bytes = header(OPCODE_MAP, request.lifetimeSeconds, request.client, HEADER + MAP_BODY);
  const view = new DataView(bytes.buffer);
  bytes.set(request.nonce, HEADER);
  view.setUint8(HEADER + 12, IANA_PROTOCOL[request.protocol]);
  view.setUint16(HEADER + 16, request.internalPort);
  view.setUint16(HEADER + 18, request.externalPort);
  // Suggested external address: all zeros in the IPv4-mapped form for "any IPv4" (§11.1).
  bytes.set(addressBytes(isIPv4(request.client) ? '0.0.0.0' : request.client), HEADER + 20);
  return bytes;
}

/** A PCP answer, or the NAT-PMP "unsupported version" of a router that speaks only NAT-PMP. */
export type PcpAnswer =
  | { readonly kind: 'nat-pmp-only' }
  | {
      readonly kind: 'announce';
      readonly result: number;
      readonly epoch: number;
    }
  | {
      readonly kind: 'map';
      readonly result: number;
      readonly epoch: number;
      readonly lifetimeSeconds: number;
      readonly nonce: Uint8Array;
      readonly protocol: number;
      readonly internalPort: number;
      readonly externalPort: number;
      readonly externalAddress: string;
    };

/** Reads a PCP answer, or `undefined` when the bytes are not one (RFC 6887 §7.2, §11.1). */
export function decodePcpAnswer(bytes: Uint8Array): PcpAnswer | undefined {
  // RFC 6887 §9: a NAT-PMP-only server answers version 2 with version 0, result 1.
  if (bytes.length >= 4 && bytes[0] === 0 && (bytes[1] ?? 0) >= 128 && bytes[2] === 0 && bytes[3] === 1) {
    return { kind: 'nat-pmp-only' };
  }
  if (bytes.length < HEADER || bytes.length > MAX_MESSAGE || bytes.length % 4 !== 0) return undefined;
  if (bytes[0] !== VERSION || ((bytes[1] ?? 0) & 0x80) === 0) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const opcode = (bytes[1] ?? 0) & 0x7f;
  const result = view.getUint8(3);
  const epoch = view.getUint32(8);
  if (opcode === OPCODE_ANNOUNCE) return { kind: 'announce', result, epoch };
  if (opcode !== OPCODE_MAP || bytes.length < HEADER + MAP_BODY) return undefined;
  return {
    kind: 'map',
    result,
    epoch,
    lifetimeSeconds: view.getUint32(4),
    nonce: bytes.slice(HEADER, HEADER + 12),
    protocol: view.getUint8(HEADER + 12),
    internalPort: view.getUint16(HEADER + 16),
    externalPort: view.getUint16(HEADER + 18),
    externalAddress: addressText(bytes.subarray(HEADER + 20, HEADER + 36)),
  };
}
