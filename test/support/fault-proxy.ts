/**
 * A TCP proxy on loopback that stands in front of a real server (dynalite in the fault tests)
 * and misbehaves on demand, so the service meets real sockets that are slow, silent or reset,
 * not a mocked SDK. The mode is read per connection, so a test can switch it at any time.
 */
import net from 'node:net';

/**
 * What the proxy does with a new connection:
 * - `pass`: forwards both ways;
 * - `delay`: forwards, but holds every chunk from the client back for `delayMs`;
 * - `blackhole`: accepts and reads, never answers;
 * - `reset`: accepts, then resets the connection (RST) as soon as the client sends;
 * - `throttle`: answers every HTTP request itself with DynamoDB's throttling error, as the real
 *   endpoint sends it on the wire (HTTP 400, `x-amz-json-1.0` body with `__type`).
 */
export type FaultMode = 'pass' | 'delay' | 'blackhole' | 'reset' | 'throttle';

/** A running proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:PORT` plus the target endpoint's path, usable as `DYNAMODB_ENDPOINT`. */
  readonly endpoint: string;
  readonly port: number;
  mode: FaultMode;
  delayMs: number;
  /** DynamoDB error type answered in `throttle` mode. */
  throttleType: 'ThrottlingException' | 'ProvisionedThroughputExceededException';
  /** Connections accepted so far (to show the client really came through here). */
  readonly connections: () => number;
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>;
}

function throttleResponse(type: FaultProxy['throttleType']): string {
  const body = JSON.stringify({
    __type: `com.amazonaws.dynamodb.v20120810#${type}`,
    message: 'Rate of requests exceeds the allowed throughput.',
  });
  return [
    'HTTP/1.1 400 Bad Request',
    'content-type: application/x-amz-json-1.0',
    `content-length: ${Buffer.byteLength(body)}`,
    'x-amzn-requestid: FAULTPROXY',
    '',
    body,
  ].join('\r\n');
}

/**
 * Starts a proxy on 127.0.0.1 forwarding to `target` on 127.0.0.1: a port, or an endpoint whose
 * path (the embedded table's credential) the proxy's own endpoint keeps.
 */
export async function startFaultProxy(target: number | string, mode: FaultMode = 'pass'): Promise<FaultProxy> {
  const targetUrl = typeof target === 'string' ? new URL(target) : undefined;
  const targetPort = targetUrl === undefined ? (target as number) : Number(targetUrl.port);
  const path = targetUrl === undefined || targetUrl.pathname === '/' ? '' : targetUrl.pathname;
  const open = new Set<net.Socket>();
  let connections = 0;
  const track = (socket: net.Socket): void => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => undefined);
  };

  const server = net.createServer((client) => {
    connections += 1;
    track(client);
    const current = proxy.mode;
    if (current === 'blackhole') {
      client.resume();
      return;
    }
    if (current === 'reset') {
      client.once('data', () => client.resetAndDestroy());
      return;
    }
    if (current === 'throttle') {
      // One answer per request; the SDK keeps the connection alive and may send its retry here.
      client.on('data', (chunk: Buffer) => {
        if (chunk.includes('\r\n\r\n')) client.write(throttleResponse(proxy.throttleType));
      });
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    track(upstream);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    upstream.pipe(client);
    if (current === 'delay') {
      const delay = proxy.delayMs;
      client.on('data', (chunk: Buffer) => {
        setTimeout(() => {
          if (!upstream.destroyed) upstream.write(chunk);
        }, delay);
      });
    } else {
      client.pipe(upstream);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const proxy: FaultProxy = {
    endpoint: `http://127.0.0.1:${port}${path}`,
    port,
    mode,
    delayMs: 5000,
    throttleType: 'ThrottlingException',
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return proxy;
}
