/**
 * Linux's socket tables as the kernel writes them (`/proc/net/tcp`, `tcp6`, `udp`, `udp6`),
 * read without root: which sockets listen on a port and on which addresses. Pure text in,
 * values out, so the tests hold it against tables captured from a real kernel.
 */

/** One listening socket: its local address and port, and the inode that names it in `/proc/PID/fd`. */
export interface ListeningSocket {
  readonly protocol: 'tcp' | 'udp';
  /** The local address as text (`0.0.0.0`, `::`, `127.0.0.1`, `::ffff:127.0.0.1`, …). */
  readonly address: string;
  readonly port: number;
  /** The socket's inode (`socket:[N]` in `/proc/PID/fd`); 0 when the kernel hides it or the OS has none. */
  readonly inode: number;
  /** The owner's user id; -1 where the OS does not say (lsof, netstat). */
  readonly uid: number;
}

/** TCP_LISTEN in the kernel's `st` column. */
const TCP_LISTEN = '0A';
/** TCP_CLOSE, which is what an unconnected (bound) UDP socket shows. */
const UDP_UNCONNECTED = '07';

/** Bounds what is read: a table longer than this is a machine to be examined by hand. */
const MAX_ROWS = 100_000;

/** The address in a table's hex form: 8 digits for IPv4, 32 for IPv6, each 32-bit word in host (little-endian) order. */
export function procAddress(hex: string): string | undefined {
  if (/^[0-9A-F]{8}$/i.test(hex)) return wordBytes(hex).join('.');
  if (!/^[0-9A-F]{32}$/i.test(hex)) return undefined;
  const bytes = [0, 8, 16, 24].flatMap((i) => wordBytes(hex.slice(i, i + 8)));
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `::ffff:${bytes.slice(12).join('.')}`;
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return compressIPv6(groups);
}

/** The four bytes of one little-endian 32-bit word, in network order. */
function wordBytes(word: string): number[] {
  const value = Number.parseInt(word, 16);
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}

/** RFC 5952 text: the longest run of two or more zero groups becomes `::`. */
function compressIPv6(groups: readonly string[]): string {
  let best = { start: -1, length: 0 };
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > best.length && j - i >= 2) best = { start: i, length: j - i };
    i = j;
  }
  if (best.start < 0) return groups.join(':');
  const head = groups.slice(0, best.start).join(':');
  const tail = groups.slice(best.start + best.length).join(':');
  return `${head}::${tail}`;
}

/**
 * The listening sockets of one table's text: TCP rows in LISTEN, UDP rows that are bound and
 * not connected to a peer (what a UDP server is). Rows it cannot read are skipped.
 */
export function parseProcNet(text: string, protocol: 'tcp' | 'udp'): ListeningSocket[] {
  const sockets: ListeningSocket[] = [];
  const lines = text.split('\n').slice(1, MAX_ROWS + 1);
  for (const line of lines) {
    const fields = line.trim().split(/\s+/);
    // sl local rem st queues tr retrnsmt uid timeout inode …
    const [, local, remote, state, , , , uid, , inode] = fields;
    if (local === undefined || remote === undefined || inode === undefined || uid === undefined) continue;
    const listening = protocol === 'tcp' ? state === TCP_LISTEN : state === UDP_UNCONNECTED && /^0+:0000$/.test(remote);
    if (!listening) continue;
    const [hexAddress = '', hexPort = ''] = local.split(':');
    const address = procAddress(hexAddress);
    if (address === undefined || !/^[0-9A-F]{4}$/i.test(hexPort)) continue;
    sockets.push({ protocol, address, port: Number.parseInt(hexPort, 16), inode: Number(inode), uid: Number(uid) });
  }
  return sockets;
}

/** Where a set of listeners can be reached from, judged by their addresses. */
export type BindScope = 'all' | 'loopback' | 'specific';

/** Whether an address is a wildcard (every interface), loopback only, or one specific address. */
export function scopeOf(address: string): BindScope {
  if (address === '0.0.0.0' || address === '::') return 'all';
  if (/^(::ffff:)?127\./.test(address) || address === '::1') return 'loopback';
  return 'specific';
}
