/**
 * What listens on a port on this machine, from Linux's `/proc` (no root needed for the tables;
 * the owning process shows only when its `/proc/PID/fd` is readable, which for another user's
 * process means root). Elsewhere it says it could not look, and the doctor says so too.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { type ListeningSocket, parseProcNet } from './proc-net.ts';

/** A listening socket and, when the OS said, the process holding it (Windows gives no name). */
export interface Listener extends ListeningSocket {
  readonly process?: { readonly pid: number; readonly name?: string };
}

/** The few file operations this module needs; tests pass a directory of captured files instead. */
export interface ProcFiles {
  /** The text of a file, or `undefined` when it cannot be read. */
  readonly read: (path: string) => string | undefined;
  /** A directory's entries, or `[]` when it cannot be read. */
  readonly list: (path: string) => readonly string[];
  /** Where a symbolic link points, or `undefined`. */
  readonly link: (path: string) => string | undefined;
}

/** The real `/proc`. */
export const REAL_PROC: ProcFiles = {
  read: (path) => attempt(() => readFileSync(path, 'utf8')),
  list: (path) => attempt(() => readdirSync(path)) ?? [],
  link: (path) => attempt(() => readlinkSync(path)),
};

function attempt<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    // Unreadable is an answer here (another user's process, no /proc on this OS), not a failure.
    return undefined;
  }
}

/** Bounds on the walk through `/proc`, so a machine with huge tables cannot stall the doctor. */
const MAX_PROCESSES = 4096;
const MAX_FDS_PER_PROCESS = 8192;

/**
 * The sockets listening on `port` (TCP or UDP) with their processes where readable, or
 * `undefined` when there are no tables to read (not Linux).
 */
export function listenersOn(
  port: number,
  protocol: 'tcp' | 'udp',
  proc: ProcFiles = REAL_PROC,
): Listener[] | undefined {
  const tables = [`/proc/net/${protocol}`, `/proc/net/${protocol}6`].map((path) => proc.read(path));
  if (tables.every((t) => t === undefined)) return undefined;
  const sockets = tables
    .flatMap((t) => (t === undefined ? [] : parseProcNet(t, protocol)))
    .filter((s) => s.port === port);
  const owners = ownersOf(new Set(sockets.map((s) => s.inode).filter((i) => i !== 0)), proc);
  return sockets.map((s) => {
    const owner = owners.get(s.inode);
    return owner === undefined ? s : { ...s, process: owner };
  });
}

/** The process holding each socket inode, for those whose `/proc/PID/fd` can be read. */
function ownersOf(inodes: ReadonlySet<number>, proc: ProcFiles): Map<number, { pid: number; name: string }> {
  const owners = new Map<number, { pid: number; name: string }>();
  if (inodes.size === 0) return owners;
  const pids = proc
    .list('/proc')
    .filter((name) => /^\d+$/.test(name))
    .slice(0, MAX_PROCESSES);
  for (const pid of pids) {
    for (const fd of proc.list(`/proc/${pid}/fd`).slice(0, MAX_FDS_PER_PROCESS)) {
      const inode = Number(/^socket:\[(\d+)\]$/.exec(proc.link(`/proc/${pid}/fd/${fd}`) ?? '')?.[1] ?? 0);
      if (!inodes.has(inode) || owners.has(inode)) continue;
      const name = proc.read(`/proc/${pid}/comm`)?.trim() ?? '?';
      owners.set(inode, { pid: Number(pid), name });
    }
    if (owners.size === inodes.size) break;
  }
  return owners;
}
