/**
 * What listens on a port, read the way this OS allows: Linux's `/proc/net` tables, macOS's
 * `lsof`, Windows' `netstat -ano`. Each answer says where it was read, for the evidence line.
 */
import { parseLsof, parseNetstat } from './foreign-sockets.ts';
import { type Listener, listenersOn, type ProcFiles } from './local-service.ts';
import type { RunCommand } from './route.ts';

/** The listeners on a port and what they were read from. */
export interface FoundListeners {
  readonly listeners: readonly Listener[];
  /** `/proc/net`, `lsof` or `netstat -ano`. */
  readonly source: string;
}

/**
 * The sockets listening on `port`, or `undefined` when this OS offered no way to read them
 * (no `/proc`, and the platform's command missing or failing).
 */
export function findListeners(
  port: number,
  protocol: 'tcp' | 'udp',
  proc: ProcFiles,
  run: RunCommand,
  platform: NodeJS.Platform = process.platform,
): FoundListeners | undefined {
  const fromProc = listenersOn(port, protocol, proc);
  if (fromProc !== undefined) return { listeners: fromProc, source: '/proc/net' };
  if (platform === 'darwin') {
    const selector = protocol === 'tcp' ? [`-iTCP:${port}`, '-sTCP:LISTEN'] : [`-iUDP:${port}`];
    // lsof also exits 1 when nothing matches: "could not read" then, and the doctor's own bind says the rest.
    const text = run('lsof', ['-nP', ...selector]);
    if (text === undefined) return undefined;
    return { listeners: parseLsof(text, protocol).filter((l) => l.port === port), source: 'lsof' };
  }
  if (platform === 'win32') {
    const text = run('netstat', ['-ano']);
    if (text === undefined) return undefined;
    return { listeners: parseNetstat(text, protocol).filter((l) => l.port === port), source: 'netstat -ano' };
  }
  return undefined;
}
