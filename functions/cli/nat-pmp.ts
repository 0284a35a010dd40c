/**
 * NAT-PMP (RFC 6886) messages as bytes: the external-address request and the mapping request a
 * client sends to UDP 5351 on its gateway, and the router's answers read back strictly (wrong
 * length, version or opcode is no answer at all). Pure; `router-discovery.ts` does the sending.
 */

/** The UDP port NAT-PMP and PCP servers listen on (RFC 6886 §3, RFC 6887 §19.1). */
export const NAT_PMP_PORT = 5351;

/** The result codes RFC 6886 §3.5 defines, in words a person reads after "the router said". */
const RESULTS: readonly string[] = [
  'success',
  'unsupported version',
  'not authorized or refused',
  'network failure (it has no external address)',
  'out of resources',
  'unsupported opcode',
];

/** The words for a NAT-PMP result code. */
export function natPmpResultText(code: number): string {
  return RESULTS[code] ?? `result code ${code}`;
}

/** Opcode 0: "what is your external address?" (two bytes: version 0, opcode 0). */
export function encodeExternalAddressRequest(): Uint8Array {
  return Uint8Array.of(0, 0);
}

/** What a router answered to opcode 0. */
export interface NatPmpAddressAnswer {
  readonly result: number;
  /** Dotted IPv4; `0.0.0.0` when the router has none. */
  readonly address: string;
  /** Seconds since the router's mapping table was (re)started. */
  readonly epoch: number;
}

/** Reads an answer to opcode 0, or `undefined` when the bytes are not one (RFC 6886 §3.2). */
export function decodeExternalAddressAnswer(bytes: Uint8Array): NatPmpAddressAnswer | undefined {
  // A failure answer may be shorter than 12 bytes only in broken routers; RFC 6886 fixes it at 12.
  if (bytes.length !== 12 || bytes[0] !== 0 || bytes[1] !== 128) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    result: view.getUint16(2),
    epoch: view.getUint32(4),
    address: Array.from(bytes.subarray(8, 12)).join('.'),
  };
}

/** A mapping request: `lifetime` 0 with external port 0 deletes the mapping for `internalPort`. */
export interface NatPmpMapRequest {
  readonly protocol: 'tcp' | 'udp';
  readonly internalPort: number;
  readonly externalPort: number;
  readonly lifetimeSeconds: number;
}

/** Opcode 1 (UDP) or 2 (TCP): twelve bytes (RFC 6886 §3.3). */
export function encodeMapRequest(request: NatPmpMapRequest): Uint8Array {
  const bytes = new Uint8Array(12);
  const view = new DataView(bytes.buffer);
  view.setUint8(1, request.protocol === 'udp' ? 1 : 2);
  view.setUint16(4, request.internalPort);
  view.setUint16(6, request.externalPort);
  view.setUint32(8, request.lifetimeSeconds);
  return bytes;
}

/** What a router answered to a mapping request. */
export interface NatPmpMapAnswer {
  readonly result: number;
  readonly protocol: 'tcp' | 'udp';
  readonly internalPort: number;
  readonly externalPort: number;
  readonly lifetimeSeconds: number;
}

/** Reads an answer to opcode 1 or 2, or `undefined` when the bytes are not one. */
export function decodeMapAnswer(bytes: Uint8Array): NatPmpMapAnswer | undefined {
  if (bytes.length !== 16 || bytes[0] !== 0 || (bytes[1] !== 129 && bytes[1] !== 130)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    result: view.getUint16(2),
    protocol: bytes[1] === 129 ? 'udp' : 'tcp',
    internalPort: view.getUint16(8),
    externalPort: view.getUint16(10),
    lifetimeSeconds: view.getUint32(12),
  };
}
