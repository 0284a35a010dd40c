/**
 * The lab's kernel view of a socket (support/lab/kernel-socket.ts): what it prints when the
 * runtime reports a connection its kernel's peer does not prove. Real loopback sockets for the
 * lookup, and /proc rows in the kernel's own format for the decoding.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  descriptorOf,
  kernelView,
  parseTcpRow,
  rememberBirth,
  type SocketIdentity,
  socketIdentity,
} from '../support/lab/kernel-socket.ts';

/** A loopback server that keeps what it accepts, and a client connected to it. */
async function connectedPair(): Promise<{ client: net.Socket; server: net.Server; port: number }> {
  const server = net.createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const client = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => client.once('connect', resolve).once('error', reject));
  return { client, server, port };
}

describe("the kernel's view of a socket", () => {
  it('finds a connected socket in the TCP table, with its state and both ends', async () => {
    const { client, server, port } = await connectedPair();
    try {
      expect(kernelView(client)).toMatch(
        new RegExp(`^fd \\d+: ESTABLISHED 127\\.0\\.0\\.1:${client.localPort} → 127\\.0\\.0\\.1:${port}$`),
      );
    } finally {
      client.destroy();
      server.close();
    }
  });

  it('says so when the handle is already closed', async () => {
    const { client, server } = await connectedPair();
    client.destroy();
    server.close();
    expect(kernelView(client)).toBe('no file descriptor (the handle is closed)');
  });

  it('tells a socket gone from the tables and a descriptor that is no socket, from a /proc of its own', async () => {
    const { client, server } = await connectedPair();
    const fd = descriptorOf(client);
    const proc = await mkdtemp(path.join(tmpdir(), 'kernel-view-'));
    try {
      await mkdir(path.join(proc, 'self', 'fd'), { recursive: true });
      await mkdir(path.join(proc, 'net'));
      const header =
        '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
      await writeFile(path.join(proc, 'net', 'tcp'), header);
      await writeFile(path.join(proc, 'net', 'tcp6'), header);
      await symlink('socket:[4242]', path.join(proc, 'self', 'fd', String(fd)));
      expect(kernelView(client, proc)).toBe(`fd ${fd}: socket 4242 is in neither TCP table (closed)`);
      await rm(path.join(proc, 'self', 'fd', String(fd)));
      await symlink('anon_inode:[eventpoll]', path.join(proc, 'self', 'fd', String(fd)));
      expect(kernelView(client, proc)).toBe(`fd ${fd}: not a socket (anon_inode:[eventpoll])`);
    } finally {
      await rm(proc, { recursive: true, force: true });
      client.destroy();
      server.close();
    }
  });

  it('decodes rows of both tables as the kernel prints them (address words in host byte order)', () => {
    expect(
      parseTcpRow(
        '   3: 011213C6:9CA8 021213C6:4EA6 02 00000001:00000000 01:00000064 00000002     0        0 98765 2 0000 100 0 0 10 -1',
      ),
    ).toEqual({ local: '198.19.18.1:40104', remote: '198.19.18.2:20134', state: 'SYN-SENT', inode: '98765' });
    expect(
      parseTcpRow(
        '   0: B80D012000000A000000000001000000:9CA8 B80D012000000A000000000002000000:4E6E 07 00000000:00000000 00:00000000 00000000     0        0 55 1 0000 100 0 0 10 0',
      ),
    ).toEqual({
      local: '[2001:db8:a::1]:40104',
      remote: '[2001:db8:a::2]:20078',
      state: 'CLOSE',
      inode: '55',
    });
    expect(
      parseTcpRow('  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode'),
    ).toBeUndefined();
  });

  it("remembers the socket a dial's connect() made, and says whether its descriptor still holds it", async () => {
    const server = net.createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const births = new WeakMap<net.Socket, SocketIdentity>();
    const client = new net.Socket();
    rememberBirth(client, births);
    client.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => client.once('connect', resolve).once('error', reject));
    const proc = await mkdtemp(path.join(tmpdir(), 'kernel-view-'));
    try {
      const born = births.get(client);
      expect(born).toEqual(socketIdentity(client));
      expect(born?.inode).toMatch(/^\d+$/);
      expect(kernelView(client, '/proc', born)).toMatch(
        new RegExp(
          `^fd ${born?.fd} \\(the dial's own socket\\): ESTABLISHED 127\\.0\\.0\\.1:\\d+ → 127\\.0\\.0\\.1:${port}$`,
        ),
      );
      // The same descriptor number holding another socket, as a reused descriptor would.
      await mkdir(path.join(proc, 'self', 'fd'), { recursive: true });
      await mkdir(path.join(proc, 'net'));
      await writeFile(path.join(proc, 'net', 'tcp'), '');
      await writeFile(path.join(proc, 'net', 'tcp6'), '');
      await symlink('socket:[4242]', path.join(proc, 'self', 'fd', String(born?.fd)));
      expect(kernelView(client, proc, born)).toBe(
        `fd ${born?.fd} (not the dial's own socket ${born?.inode}): socket 4242 is in neither TCP table (closed)`,
      );
    } finally {
      await rm(proc, { recursive: true, force: true });
      client.destroy();
      server.close();
    }
  });
});
