/**
 * A safety net for tests and benches that run the deployed bundle: it may only ever dial
 * loopback here (no traffic to other addresses). Every call that reaches the limiter is
 * arranged to stop before the probe; this guard turns a mistake in that arrangement into a
 * thrown error instead of a packet to a public address.
 */
import net from 'node:net';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * Makes every non-loopback `net.Socket#connect` throw, noting the refused host in `refused`;
 * returns a function that undoes it.
 */
export function guardOutboundConnections(refused: string[] = []): () => void {
  const original = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function guarded(this: net.Socket, ...args: unknown[]) {
    const options = args[0];
    const host = typeof options === 'object' && options !== null && 'host' in options ? String(options.host) : '';
    if (host !== '' && !LOOPBACK.has(host)) {
      refused.push(host);
      throw new Error(`connect guard: refused a connection to ${host}`);
    }
    // biome-ignore lint/suspicious/noExplicitAny: forwards the overloaded signature untouched
    return (original as (...a: any[]) => net.Socket).apply(this, args);
  } as typeof original;
  return () => {
    net.Socket.prototype.connect = original;
  };
}
