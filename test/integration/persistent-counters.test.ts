/**
 * Counters that survive a restart (`npm start -- --data-dir DIR`): a caller who spent its
 * budget is still refused after the server restarts on the same directory, and a server without
 * the directory starts afresh, as before.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalApp } from '../../infra/local/app.ts';
import { getOnce } from '../support/http-client.ts';

// Day = minute: whichever window a restart falls in, the spent budget is the day's too.
const ENV = { RATE_LIMIT_PER_MINUTE: '2', RATE_LIMIT_PER_DAY: '2', MAX_PORTS: '1', PROBE_TIMEOUT_MS: '1000' };

describe('counters kept in a directory', () => {
  let dir: string;
  let listener: net.Server;
  let port: number;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dialback-counters-'));
    listener = net.createServer((socket) => socket.on('error', () => undefined).end());
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    port = (listener.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => listener?.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const statuses = async (dataDir: string | undefined, count: number): Promise<number[]> => {
    const app = await startLocalApp({
      env: ENV,
      host: '127.0.0.1',
      port: 0,
      allowNonPublic: false,
      ...(dataDir === undefined ? {} : { dataDir }),
    });
    try {
      const answers: number[] = [];
      for (let i = 0; i < count; i++) {
        answers.push((await getOnce(`${app.url}/check/${port}`, { headers: { accept: 'application/json' } })).status);
      }
      return answers;
    } finally {
      await app.close();
    }
  };

  it("keeps a caller's spent budget across a restart on the same directory", async () => {
    expect(await statuses(join(dir, 'store'), 3)).toEqual([200, 200, 429]);
    expect(await statuses(join(dir, 'store'), 1)).toEqual([429]);
    // The key that hashes callers is kept too (a new one would make every caller new), for this user only.
    expect((await stat(join(dir, 'store', 'rate-limit.key'))).mode & 0o777).toBe(0o600);
  });

  it('starts afresh in memory without one', async () => {
    expect(await statuses(undefined, 3)).toEqual([200, 200, 429]);
    expect(await statuses(undefined, 1)).toEqual([200]);
  });
});
