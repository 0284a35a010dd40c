/**
 * `dialback listen --udp PORT`: the UDP side of the dial proof. A UDP service such as WireGuard
 * never answers a stranger, so a check of its port can only say `open|filtered`; this settles it.
 * The CLI binds the port on every interface, the API's probe sends datagrams carrying the
 * one-time token, and the port is verified when this listener received its own token. It
 * answers each token datagram with one short line, so the probe reads the port `open` too.
 *
 * Discipline (as the TCP listener's): the socket lives only for the check and a fixed wait after
 * it, answers nothing but its own token (so it can never be used to reflect traffic), and a
 * datagram longer than a proof line is ignored unread.
 */
import { Buffer } from 'node:buffer';
import dgram from 'node:dgram';

/** What the listener sends back to a datagram carrying its token: smaller than what it received. */
export const UDP_PROOF_ANSWER = 'DIALBACK OK\n';

/** Longest a proof datagram can be; anything longer is not ours. */
const MAX_PROOF_BYTES = 128;

/** A bound UDP proof listener. */
export interface UdpProofListener {
  /** Whether the token has arrived. */
  readonly verified: () => boolean;
  /** Resolves `true` as soon as the token arrives, or with `verified()` after `ms`. */
  readonly whenVerified: (ms: number) => Promise<boolean>;
  readonly close: () => Promise<void>;
}

async function bindUdp(port: number): Promise<dgram.Socket> {
  const bind = (type: 'udp4' | 'udp6', host: string): Promise<dgram.Socket> =>
    new Promise((resolve, reject) => {
      const socket = dgram.createSocket(type === 'udp6' ? { type, ipv6Only: false } : { type });
      socket.once('error', (error) => {
        socket.close();
        reject(error);
      });
      socket.bind(port, host, () => resolve(socket));
    });
  try {
    return await bind('udp6', '::');
  } catch (error) {
    // A machine without IPv6 cannot bind ::; all IPv4 interfaces still cover the usual case.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw error;
    return bind('udp4', '0.0.0.0');
  }
}

/** Binds `port` (UDP, every interface) and waits for `expected`, the proof line. */
export async function listenForUdpProof(port: number, expected: string): Promise<UdpProofListener> {
  const socket = await bindUdp(port);
  const wanted = Buffer.from(expected, 'latin1');
  let verified = false;
  let markArrived: () => void = () => undefined;
  const arrived = new Promise<void>((resolve) => {
    markArrived = resolve;
  });
  socket.on('error', () => undefined);
  socket.on('message', (message, peer) => {
    if (message.length > MAX_PROOF_BYTES || !message.equals(wanted)) return;
    verified = true;
    markArrived();
    socket.send(UDP_PROOF_ANSWER, peer.port, peer.address);
  });
  return {
    verified: () => verified,
    whenVerified: async (ms) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      });
      await Promise.race([arrived, timeout]);
      clearTimeout(timer);
      return verified;
    },
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
