/**
 * What listens on a port where there is no `/proc`: macOS from `lsof -nP -iTCP:PORT
 * -sTCP:LISTEN` (or `-iUDP:PORT`), Windows from `netstat -ano`. Pure text in, the same
 * `Listener` values the Linux reader gives out; the commands are run by `listeners.ts`.
 */
import type { Listener } from './local-service.ts';

/** `lsof`'s and `netstat`'s wildcard, written as the address a Linux table would show. */
function wildcard(v6: boolean): string {
  return v6 ? '::' : '0.0.0.0';
}

/** `host:port`, `[v6]:port` or `*:port` into address and port; `undefined` when it is none of them. */
function splitEndpoint(text: string, v6: boolean): { address: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+|\*)):(\d{1,5})$/.exec(text);
  if (match === null) return undefined;
  const raw = match[1] ?? match[2] ?? '';
  // A zone (fe80::1%12) names the interface, not the address.
  const address = raw === '*' ? wildcard(v6) : raw.replace(/%.*$/, '');
  return { address, port: Number(match[3]) };
}

/**
 * The listeners in `lsof -nP` output for `protocol`: TCP rows in `(LISTEN)`, UDP rows with no
 * peer (`->`). Header and unreadable rows are skipped.
 */
export function parseLsof(text: string, protocol: 'tcp' | 'udp'): Listener[] {
  const found: Listener[] = [];
  for (const line of text.split('\n').slice(1, 100_001)) {
    // COMMAND PID USER FD TYPE DEVICE SIZE/OFF NODE NAME [(STATE)]
    const fields = line.trim().split(/\s+/);
    const [command, pid, , , type] = fields;
    const nodeAt = fields.findIndex((f, i) => i >= 5 && (f === 'TCP' || f === 'UDP'));
    const name = fields[nodeAt + 1];
    if (command === undefined || pid === undefined || nodeAt < 0 || name === undefined) continue;
    if (fields[nodeAt] !== protocol.toUpperCase() || name.includes('->')) continue;
    if (protocol === 'tcp' && fields[nodeAt + 2] !== '(LISTEN)') continue;
    const endpoint = splitEndpoint(name, type === 'IPv6');
    if (endpoint === undefined || !/^\d+$/.test(pid)) continue;
    found.push({ protocol, ...endpoint, inode: 0, uid: -1, process: { pid: Number(pid), name: command } });
  }
  return found;
}

/**
 * The listeners in `netstat -ano` output (Windows) for `protocol`: TCP rows in `LISTENING`,
 * and every UDP row (a bound UDP socket has no peer, `*:*`). Windows gives the PID, not the
 * program's name.
 */
export function parseNetstat(text: string, protocol: 'tcp' | 'udp'): Listener[] {
  const found: Listener[] = [];
  for (const line of text.split(/\r?\n/).slice(0, 100_000)) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] !== protocol.toUpperCase()) continue;
    const local = fields[1] ?? '';
    const pid = fields.at(-1) ?? '';
    if (protocol === 'tcp' && fields[3] !== 'LISTENING') continue;
    const endpoint = splitEndpoint(local, local.startsWith('['));
    if (endpoint === undefined || !/^\d+$/.test(pid)) continue;
    found.push({ protocol, ...endpoint, inode: 0, uid: -1, process: { pid: Number(pid) } });
  }
  return found;
}
