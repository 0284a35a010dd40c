/**
 * What the CLI can tell of this machine's listeners by trying to bind a port itself: real
 * listeners on the loopback addresses of each family.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { listensOver } from '../../functions/cli/local-listeners.ts';
import { listening, releasedPort } from '../support/ports.ts';

describe('listensOver', () => {
  it('sees a listener on an IPv4 address as IPv4 only', async () => {
    const server = await listening('127.0.0.1');
    try {
      expect(await listensOver(server.port, 4)).toBe(true);
      expect(await listensOver(server.port, 6)).toBe(false);
    } finally {
      await server.close();
    }
  });

  it('sees a listener on an IPv6 address as IPv6', async () => {
    const server = await listening('::1');
    try {
      expect(await listensOver(server.port, 6)).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('sees nothing on a free port, and leaves the port free', async () => {
    const port = await releasedPort();
    expect(await listensOver(port, 4)).toBe(false);
    expect(await listensOver(port, 6)).toBe(false);
    // Its own binds are gone: the same port can be listened on again at once, on both families.
    for (const host of ['127.0.0.1', '::1']) {
      const again = net.createServer();
      await new Promise<void>((resolve, reject) => {
        again.once('error', reject);
        again.listen(port, host, resolve);
      });
      await new Promise((resolve) => again.close(resolve));
    }
  });
});
