/**
 * The service's TCP probe (`runPacedCheck` over `tcpDialer`, as `probePorts` runs it) with each
 * dial's kernel socket remembered at its connect(), so a dial the runtime reports connected
 * without the kernel's proof says whether its descriptor still held its own socket
 * (`kernelView`). The lab's probe runner and the descriptor-takeover test both use it.
 */
import net from 'node:net';
import type { PortResult } from '../../../functions/contract/wire.ts';
import { type PacedCheckOptions, runPacedCheck } from '../../../functions/core/paced-check.ts';
import { type ProbeTarget, tcpDialer } from '../../../functions/core/probe.ts';
import { kernelView, rememberBirth, type SocketIdentity } from './kernel-socket.ts';

/** One dial the runtime reported connected while the kernel's peer did not prove it. */
export interface UnprovenDial {
  readonly port: number;
  readonly kernel: string;
}

/**
 * Probes `ports` on `target` and pushes each unproven dial onto `unproven`. `onSocket` sees each
 * dial's socket after its birth is being remembered, before its connect(): a test's hook for a
 * fault no real peer can produce.
 */
export function probeRemembering(
  target: ProbeTarget,
  ports: readonly number[],
  schedule: PacedCheckOptions,
  unproven: UnprovenDial[],
  onSocket?: (socket: net.Socket) => void,
): Promise<PortResult[]> {
  const births = new WeakMap<net.Socket, SocketIdentity>();
  const newSocket = (): net.Socket => {
    const socket = new net.Socket();
    rememberBirth(socket, births);
    onSocket?.(socket);
    return socket;
  };
  const onUnproven = (port: number, socket: net.Socket): void => {
    unproven.push({ port, kernel: kernelView(socket, '/proc', births.get(socket)) });
  };
  return runPacedCheck(ports, schedule, tcpDialer(target, undefined, newSocket, onUnproven));
}
