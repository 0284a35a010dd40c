/**
 * `dialback listen PORT`: "I forwarded the port; would a server on it be reachable?", answered
 * before the server exists. The CLI listens on the port on all interfaces, asks the API to
 * check it with a one-time token, and calls the port verified only when its own listener
 * received its own token: an open port where the token never arrives was answered by
 * something else (a router, another host, a proxy).
 */
import net from 'node:net';
import type { CheckResponse, DialbackClient, PortResult } from '../client/dialback-client.ts';
import { newToken, proofLine } from '../contract/dial-proof.ts';
import { protocolOf } from '../contract/wire.ts';
import { CliFailure } from './explain.ts';
import { listenForUdpProof } from './listen-udp.ts';

/** How `listen` ended. */
export type ListenOutcome =
  | { readonly kind: 'checked'; readonly check: CheckResponse; readonly result: PortResult; readonly verified: boolean }
  /** The port was taken on this machine, so it was checked directly, without a proof. */
  | { readonly kind: 'in-use'; readonly check: CheckResponse; readonly result: PortResult };

/** Options of `listenAndCheck`. */
export interface ListenOptions {
  /** How long to wait for the token after the API says open (it is written right after the handshake). */
  readonly proofWaitMs?: number;
  /** Listen on and check the UDP port (`listen --udp`); see listen-udp.ts. */
  readonly udp?: boolean;
}

/** Longest a proof line can be; anything longer is not ours. */
const MAX_LINE = 128;

/** A listener waiting for its dial-proof line. */
export interface ProofListener {
  /** The port it listens on (the one asked for, or the one picked for 0). */
  readonly port: number;
  readonly verified: () => boolean;
  readonly whenVerified: (ms: number) => Promise<boolean>;
  readonly close: () => Promise<void>;
}

/**
 * Listens on `port` (0: any free one) on every interface (IPv6 and IPv4 where the machine has
 * them) until `expected`, the proof line, arrives. Also used by the smoke test.
 */
export async function listenForProof(port: number, expected: string): Promise<ProofListener> {
  let verified = false;
  const waiters = new Set<() => void>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let received = '';
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.length > MAX_LINE) socket.destroy();
      else if (received === expected) {
        verified = true;
        for (const wake of waiters) wake();
        socket.destroy();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });
  const bind = (options: net.ListenOptions): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(options, () => {
        server.off('error', reject);
        resolve();
      });
    });
  try {
    await bind({ port, host: '::', ipv6Only: false });
  } catch (error) {
    // A machine without IPv6 cannot bind ::; all IPv4 interfaces still cover the usual case.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw error;
    await bind({ port, host: '0.0.0.0' });
  }
  return {
    port: (server.address() as net.AddressInfo).port,
    verified: () => verified,
    whenVerified: (ms) =>
      verified
        ? Promise.resolve(true)
        : new Promise((resolve) => {
            const wake = (): void => {
              clearTimeout(timer);
              waiters.delete(wake);
              resolve(true);
            };
            const timer = setTimeout(() => {
              waiters.delete(wake);
              resolve(verified);
            }, ms);
            waiters.add(wake);
          }),
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function onlyResult(check: CheckResponse): PortResult {
  const result = check.results[0];
  if (result === undefined) throw new Error('the API answered without a result');
  return result;
}

/** Runs the listen-and-check flow against `client`. */
export async function listenAndCheck(
  client: DialbackClient,
  port: number,
  options: ListenOptions = {},
): Promise<ListenOutcome> {
  const token = newToken();
  const udp = options.udp === true;
  const check = (withToken: boolean) =>
    client.check(udp ? [] : [port], { ...(udp ? { udp: [port] } : {}), ...(withToken ? { token } : {}) });
  let listener: Pick<ProofListener, 'whenVerified' | 'close'>;
  try {
    listener = udp ? await listenForUdpProof(port, proofLine(token)) : await listenForProof(port, proofLine(token));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES') throw privileged(port, udp);
    if (code !== 'EADDRINUSE') throw error;
    const { data } = await check(false);
    return { kind: 'in-use', check: data, result: onlyResult(data) };
  }
  try {
    const { data } = await check(true);
    const result = onlyResult(data);
    // Over UDP the token arriving is the proof, whatever the probe read: the listener's answer
    // can be lost on the way back while the datagram did arrive.
    const wait = options.proofWaitMs ?? 2000;
    const verified = udp || result.state === 'open' ? await listener.whenVerified(wait) : false;
    return { kind: 'checked', check: data, result, verified };
  } finally {
    await listener.close();
  }
}

function privileged(port: number, udp: boolean): CliFailure {
  return new CliFailure(
    'privileged-port',
    'Port needs privileges',
    port < 1024
      ? `Listening on port ${port} needs privileges: only root (or a program allowed CAP_NET_BIND_SERVICE) may listen below 1024. Run it with sudo, e.g. \`sudo node dialback.mjs listen${udp ? ' --udp' : ''} ${port}\`.`
      : `This machine does not allow listening on port ${port} (EACCES): a security policy forbids it.`,
  );
}

/** The one-line verdict of `listen`, for people. */
export function describeListen(outcome: ListenOutcome, port: number): string {
  const { result } = outcome;
  const protocol = protocolOf(result);
  if (outcome.kind === 'in-use') {
    const flag = protocol === 'udp' ? ' --udp' : '';
    return `Port ${port} is already in use on this machine, so dialback could not listen on it and checked it directly: ${port}/${protocol} ${result.state}, with no proof ${protocol === 'udp' ? 'a datagram' : 'the connection'} reached this machine. Stop the program using the port and run listen${flag} again to verify.`;
  }
  if (protocol === 'udp') return describeUdpListen(outcome.verified, result, port);
  if (result.state !== 'open') {
    return `${port}/tcp ${result.state}: dialback was listening on this machine and nothing from where the check ran reached it.`;
  }
  return outcome.verified
    ? `${port}/tcp open, verified: the connection reached this machine.`
    : `${port}/tcp open, not verified: something answered, but not this machine's listener (a router, another host or a proxy in front of it).`;
}

function describeUdpListen(verified: boolean, result: PortResult, port: number): string {
  if (verified) {
    return `${port}/udp verified: a datagram from where the check ran reached this machine, so the port is forwarded to it.`;
  }
  if (result.state === 'open') {
    return `${port}/udp open, not verified: something answered, but not this machine's listener (a router, another host or a proxy in front of it).`;
  }
  return `${port}/udp ${result.state}, not verified: dialback was listening on this machine and no datagram from where the check ran reached it.`;
}

/**
 * Whether `listen` succeeded (exit status 0): only when the check reached this machine's own
 * listener. A port in use was checked without proof, so it is not a success. Over UDP the token
 * arriving is the proof, whatever state the probe read.
 */
export function listenSucceeded(outcome: ListenOutcome): boolean {
  if (outcome.kind === 'in-use') return false;
  return outcome.verified && (protocolOf(outcome.result) === 'udp' || outcome.result.state === 'open');
}
