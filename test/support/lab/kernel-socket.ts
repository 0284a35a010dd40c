/**
 * What the kernel holds for one of this process's TCP sockets, read from /proc: its file
 * descriptor's socket inode looked up in the namespace's TCP tables. The lab asks it when the
 * runtime reported a connection the kernel's peer does not prove (probe.ts `onUnproven`), so a
 * run that meets one says which it was: a socket still connecting (the runtime spoke early), one
 * no longer in the tables (closed under the runtime), a connection to somewhere else, or a file
 * descriptor that is not this socket's at all.
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

/**
 * The kernel's view of `socket` as one line, e.g. `fd 23: SYN-SENT 198.18.5.1:40112 → 198.18.5.2:20118`.
 * `proc` is the /proc to read (a test's fixture directory, or the real one).
 */
export function kernelView(socket: net.Socket, proc = '/proc'): string {
  // The descriptor is not public API; this is a lab diagnostic, never a verdict.
  const fd = (socket as unknown as { _handle?: { fd?: number } | null })._handle?.fd;
  if (fd === undefined || fd < 0) return 'no file descriptor (the handle is closed)';
  let link: string;
  try {
    link = readlinkSync(`${proc}/self/fd/${fd}`);
  } catch (error) {
    return `fd ${fd}: unreadable (${(error as Error).message})`;
  }
  const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
  if (inode === undefined) return `fd ${fd}: not a socket (${link})`;
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`${proc}/net/${table}`, 'utf8');
    } catch {
      continue; // A kernel without IPv6 has no tcp6 table.
    }
    for (const line of text.split('\n')) {
      const row = parseTcpRow(line);
      if (row?.inode === inode) return `fd ${fd}: ${row.state} ${row.local} → ${row.remote}`;
    }
  }
  return `fd ${fd}: socket ${inode} is in neither TCP table (closed)`;
}
