/**
 * A DNS server on a loopback UDP port that the reverse-DNS lookup can be pointed at (its
 * `servers` option), answering real DNS packets in one of three ways: a PTR record, SERVFAIL,
 * or nothing at all. It lets the tests fail the resolver for real without touching the
 * machine's own resolver or the network.
 */
import dgram from 'node:dgram';

/** How the server answers: with `ptrName`, with SERVFAIL, or never. */
export type DnsMode = 'answer' | 'servfail' | 'blackhole';

/** A running fake DNS server. */
export interface FakeDns {
  /** `127.0.0.1:PORT`, for `servers`. */
  readonly server: string;
  mode: DnsMode;
  /** The name answered in `answer` mode. */
  ptrName: string;
  /** Queries received so far (to show the resolver really asked here). */
  readonly queries: () => number;
  close(): Promise<void>;
}

const RCODE_SERVFAIL = 2;
const TYPE_PTR = 12;
const CLASS_IN = 1;

function encodeName(name: string): Buffer {
  const labels = name
    .replace(/\.$/, '')
    .split('.')
    .map((label) => Buffer.concat([Buffer.from([Buffer.byteLength(label)]), Buffer.from(label)]));
  return Buffer.concat([...labels, Buffer.from([0])]);
}

/** End of the question section (header is 12 bytes; one question: name, type, class). */
function questionEnd(query: Buffer): number {
  let at = 12;
  while (at < query.length && query[at] !== 0) at += (query[at] ?? 0) + 1;
  return at + 1 + 4;
}

function reply(query: Buffer, mode: 'answer' | 'servfail', ptrName: string): Buffer {
  const end = questionEnd(query);
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2); // id
  const recursionDesired = (query[2] ?? 0) & 0x01;
  header[2] = 0x80 | recursionDesired; // QR=1, opcode 0
  header[3] = 0x80 | (mode === 'servfail' ? RCODE_SERVFAIL : 0); // RA=1
  header.writeUInt16BE(1, 4); // one question
  header.writeUInt16BE(mode === 'answer' ? 1 : 0, 6);
  const question = query.subarray(12, end);
  if (mode === 'servfail') return Buffer.concat([header, question]);
  const rdata = encodeName(ptrName);
  const answer = Buffer.alloc(12);
  answer.writeUInt16BE(0xc00c, 0); // name: pointer to the question's name
  answer.writeUInt16BE(TYPE_PTR, 2);
  answer.writeUInt16BE(CLASS_IN, 4);
  answer.writeUInt32BE(60, 6);
  answer.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([header, question, answer, rdata]);
}

/** Starts the server on 127.0.0.1 with an ephemeral port. */
export async function startFakeDns(mode: DnsMode): Promise<FakeDns> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  let queries = 0;
  const dns: FakeDns = {
    server: `127.0.0.1:${socket.address().port}`,
    mode,
    ptrName: 'host.example.net',
    queries: () => queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (message, peer) => {
    queries += 1;
    if (dns.mode === 'blackhole' || message.length < 12) return;
    socket.send(reply(message, dns.mode, dns.ptrName), peer.port, peer.address);
  });
  return dns;
}
