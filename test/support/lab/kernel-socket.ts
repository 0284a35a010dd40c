/**
 * What the kernel holds for one of this process's TCP sockets, read from /proc: its file
 * descriptor's socket inode looked up in the namespace's TCP tables. The lab asks it when the
 * runtime reported a connection the kernel's peer does not prove (probe.ts `onUnproven`), so a
 * run that meets one says which it was: a socket still connecting (the runtime spoke early), one
 * no longer in the tables (closed under the runtime), a connection to somewhere else, a Unix
 * socket, or a file descriptor that is not this socket's at all.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import type net from 'node:net';
import { procAddress } from '../../../functions/cli/proc-net.ts';

/** Linux's TCP states by the hex code /proc/net/tcp prints (include/net/tcp_states.h). */
const TCP_STATES: Readonly<Record<string, string>> = {
  '01': 'ESTABLISHED',
  '02': 'SYN-SENT',
  '03': 'SYN-RECV',
  '04': 'FIN-WAIT-1',
  '05': 'FIN-WAIT-2',
  '06': 'TIME-WAIT',
  '07': 'CLOSE',
  '08': 'CLOSE-WAIT',
  '09': 'LAST-ACK',
  '0A': 'LISTEN',
  '0B': 'CLOSING',
  '0C': 'NEW-SYN-RECV',
};

/** One row of /proc/net/tcp or tcp6. */
export interface TcpRow {
  readonly local: string;
  readonly remote: string;
  readonly state: string;
  readonly inode: string;
}

/** `hex` (`ADDRESS:PORT` as the table prints it) as text, with the doctor's address decoder. */
function endpoint(hex: string): string {
  const [addr = '', port = ''] = hex.split(':');
  const address = procAddress(addr) ?? addr;
  return `${address.includes(':') ? `[${address}]` : address}:${Number.parseInt(port, 16)}`;
}

/** Parses one /proc/net/tcp{,6} data line; `undefined` for the header or anything else. */
export function parseTcpRow(line: string): TcpRow | undefined {
  const c = line.trim().split(/\s+/);
  if (c.length < 10 || !/^\d+:$/.test(c[0] ?? '')) return undefined;
  return {
    local: endpoint(c[1] ?? ''),
    remote: endpoint(c[2] ?? ''),
    state: TCP_STATES[(c[3] ?? '').toUpperCase()] ?? `state ${c[3]}`,
    inode: c[9] ?? '',
  };
}

/** Which kernel socket a dial's file descriptor held: the descriptor and the socket's inode. */
export interface SocketIdentity {
  readonly fd: number;
  readonly inode: string;
}

/**
 * `socket`'s file descriptor number, or `undefined` once its handle is closed. The descriptor is
 * not public API: for lab diagnostics and the tests' faults, never for a verdict.
 */
export function descriptorOf(socket: net.Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: number } | null })._handle?.fd;
  return fd === undefined || fd < 0 ? undefined : fd;
}

/** `socket`'s file descriptor and what it points at now, or why there is none. */
function currentLink(socket: net.Socket, proc: string): { fd: number; link: string } | string {
  const fd = descriptorOf(socket);
  if (fd === undefined) return 'no file descriptor (the handle is closed)';
  try {
    return { fd, link: readlinkSync(`${proc}/self/fd/${fd}`) };
  } catch (error) {
    return `fd ${fd}: unreadable (${(error as Error).message})`;
  }
}

/** The kernel socket `socket`'s descriptor holds now, or `undefined` when it holds none. */
export function socketIdentity(socket: net.Socket, proc = '/proc'): SocketIdentity | undefined {
  const current = currentLink(socket, proc);
  if (typeof current === 'string') return undefined;
  const inode = /^socket:\[(\d+)\]$/.exec(current.link)?.[1];
  return inode === undefined ? undefined : { fd: current.fd, inode };
}

/**
 * Remembers which kernel socket `socket`'s connect() made, once it has made one: Node emits
 * 'connectionAttempt' just before its connect() call, so the next tick sees the descriptor.
 * `kernelView` then tells the dial's own socket from another one that took its descriptor.
 */
export function rememberBirth(socket: net.Socket, births: WeakMap<net.Socket, SocketIdentity>): void {
  socket.once('connectionAttempt', () =>
    process.nextTick(() => {
      const identity = socketIdentity(socket);
      if (identity !== undefined) births.set(socket, identity);
    }),
  );
}

/**
 * The kernel's view of `socket` as one line, e.g. `fd 23: SYN-SENT 198.18.5.1:40112 → 198.18.5.2:20118`.
 * With `born` (what its connect() made, `rememberBirth`), it also says whether the descriptor
 * still holds that socket or another one. `proc` is the /proc to read (a test's fixture
 * directory, or the real one).
 */
export function kernelView(socket: net.Socket, proc = '/proc', born?: SocketIdentity): string {
  const current = currentLink(socket, proc);
  if (typeof current === 'string') return current;
  const { fd, link } = current;
  const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
  // A handle's descriptor number never changes while it is open, so the inode alone tells.
  const whose =
    born === undefined
      ? ''
      : born.inode === inode
        ? " (the dial's own socket)"
        : ` (not the dial's own socket ${born.inode})`;
  if (inode === undefined) return `fd ${fd}${whose}: not a socket (${link})`;
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`${proc}/net/${table}`, 'utf8');
    } catch {
      continue; // A kernel without IPv6 has no tcp6 table.
    }
    for (const line of text.split('\n')) {
      const row = parseTcpRow(line);
      if (row?.inode === inode) return `fd ${fd}${whose}: ${row.state} ${row.local} → ${row.remote}`;
    }
  }
  const unix = unixSocket(proc, inode);
  if (unix !== undefined) return `fd ${fd}${whose}: a Unix socket (${unix})`;
  return `fd ${fd}${whose}: socket ${inode} is in neither TCP table (closed)`;
}

/**
 * `inode`'s path in the namespace's Unix socket table (`unnamed` for a socketpair's end or an
 * unbound client), or `undefined` when the table does not hold it: a dial's descriptor taken by
 * a Unix connection reads as one (test/integration/descriptor-takeover.test.ts).
 */
function unixSocket(proc: string, inode: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(`${proc}/net/unix`, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n').slice(1)) {
    // Num RefCount Protocol Flags Type St Inode [Path]
    const c = line.trim().split(/\s+/);
    if (c[6] === inode) return c[7] ?? 'unnamed';
  }
  return undefined;
}
