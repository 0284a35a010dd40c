/**
 * The two dialers below the pacing engine, one dial at a time: what each outcome says (kind,
 * whether it is an error a host's ICMP rate limit governs, result), that a dial reports once,
 * and how a TCP winner's dial-proof socket ends. Real loopback sockets wherever a real peer can
 * produce the case; a scripted socket only for what a runtime or kernel does that no peer can
 * make happen on demand (a 'connect' with no peer, events after close, an error with no code).
 */
import dgram from 'node:dgram';
import { EventEmitter, once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DialOutcome } from '../../functions/core/paced-check.ts';
import { LocalProbeError, tcpDialer } from '../../functions/core/probe.ts';
import { udpDialer } from '../../functions/core/udp-probe.ts';
import { releasedPort } from '../support/ports.ts';

const LOOPBACK = { address: '127.0.0.1', family: 4 } as const;
/** Taken before any test fakes timers: vi.waitFor would advance fake ones, and fire the deadline. */
const realSetTimeout = globalThis.setTimeout;

/** Waits, on real time, until `done()` holds; fails after `ms`. */
async function until(done: () => boolean, ms = 5000): Promise<void> {
  for (let waited = 0; !done(); waited += 10) {
    if (waited >= ms) throw new Error(`still not so after ${ms} ms`);
    await new Promise((resolve) => realSetTimeout(resolve, 10));
  }
}

/** Dials once and collects every report; `first` resolves with the first. */
function dialOnce<R>(dial: (port: number, report: (o: DialOutcome<R>) => void) => { close(): void }, port: number) {
  const reports: DialOutcome<R>[] = [];
  let resolveFirst: (o: DialOutcome<R>) => void = () => {};
  const first = new Promise<DialOutcome<R>>((resolve) => {
    resolveFirst = resolve;
  });
  const handle = dial(port, (outcome) => {
    reports.push(outcome);
    resolveFirst(outcome);
  });
  return { reports, first, handle };
}

/** A TCP listener on loopback that keeps each connection and records what arrives on it. */
async function keepingServer(onConnection: (socket: net.Socket) => void = () => {}) {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    sockets,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A socket that emits what the test says, for faults no real peer produces. */
class ScriptedTcpSocket extends EventEmitter {
  remoteAddress: string | undefined = undefined;
  remotePort: number | undefined = undefined;
  destroyed = false;
  connect(): this {
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }
  end(): this {
    return this;
  }
}

const scripted = (socket: ScriptedTcpSocket) => () => socket as unknown as net.Socket;

afterEach(() => {
  vi.useRealTimers();
});

describe('TCP dialer', () => {
  it('reads a handshake as an open answer that is no error, with its round trip', async () => {
    const server = await keepingServer();
    try {
      const { first, reports } = dialOnce(tcpDialer(LOOPBACK, undefined).dial, server.port);
      const outcome = await first;
      expect(outcome).toMatchObject({
        kind: 'answer',
        error: false,
        result: { port: server.port, state: 'open', reason: 'syn-ack' },
      });
      expect(outcome.kind === 'answer' && typeof outcome.result.rttMs).toBe('number');
      if (outcome.kind === 'answer') outcome.claim?.(false);
      expect(reports).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('reads a refusal as a closed answer that is an error, with its round trip', async () => {
    const port = await releasedPort();
    const { first } = dialOnce(tcpDialer(LOOPBACK, undefined).dial, port);
    const outcome = await first;
    expect(outcome).toMatchObject({
      kind: 'answer',
      error: true,
      result: { port, state: 'closed', reason: 'conn-refused' },
    });
    expect(outcome.kind === 'answer' && outcome.result.rttMs).toBeGreaterThanOrEqual(0);
  });

  it('a loser (claim false) closes its socket and writes nothing; a winner writes its line and ends', async () => {
    const received: string[] = [];
    const ended: number[] = [];
    const server = await keepingServer((socket) => {
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString('latin1');
      });
      socket.on('end', () => {
        received.push(text);
        ended.push(1);
      });
    });
    try {
      const dialer = tcpDialer(LOOPBACK, 'dialback proof\n');
      const loser = await dialOnce(dialer.dial, server.port).first;
      if (loser.kind === 'answer') loser.claim?.(false);
      const winner = await dialOnce(dialer.dial, server.port).first;
      if (winner.kind === 'answer') winner.claim?.(true);
      await vi.waitFor(() => expect(ended).toHaveLength(2), { timeout: 5000 });
      expect(received.sort()).toEqual(['', 'dialback proof\n']);
    } finally {
      await server.close();
    }
  });

  /**
   * Dials a peer that keeps its side open after ours ends (so only the probe's own close can end
   * our socket), claims the win, and gives our socket. `answer`: the peer replies to the line.
   */
  async function winnerAgainstHalfOpenPeer(answer: boolean) {
    const held: net.Socket[] = [];
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      held.push(socket);
      socket.on('error', () => {});
      socket.once('data', () => (answer ? socket.write('hello?') : undefined));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    let mine: net.Socket | undefined;
    const dialer = tcpDialer(LOOPBACK, 'line\n', () => {
      mine = new net.Socket();
      return mine;
    });
    const outcome = await dialOnce(dialer.dial, (server.address() as net.AddressInfo).port).first;
    if (outcome.kind === 'answer') outcome.claim?.(true);
    return {
      socket: () => mine,
      close: () => {
        for (const socket of held) socket.destroy();
        server.close();
      },
    };
  }

  it("a winner's socket ends at the peer's first byte, and leaves no timer behind", async () => {
    // The 2 s deadline is a fake timer that never runs here: only the byte can end the socket.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const peer = await winnerAgainstHalfOpenPeer(true);
    try {
      await until(() => peer.socket()?.destroyed === true);
      await until(() => vi.getTimerCount() === 0, 1000);
    } finally {
      peer.close();
    }
  });

  it("a winner's socket is closed at its deadline when the peer never answers nor closes", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const peer = await winnerAgainstHalfOpenPeer(false);
    try {
      await new Promise((resolve) => realSetTimeout(resolve, 100));
      expect(peer.socket()?.destroyed).toBe(false);
      vi.advanceTimersByTime(2000);
      await until(() => peer.socket()?.destroyed === true);
    } finally {
      peer.close();
    }
  });

  it('reports a reset after the dial-proof line neither twice nor as an unhandled error', async () => {
    const server = await keepingServer((socket) => socket.once('data', () => socket.resetAndDestroy()));
    try {
      const { first, reports } = dialOnce(tcpDialer(LOOPBACK, 'line\n').dial, server.port);
      const outcome = await first;
      if (outcome.kind === 'answer') outcome.claim?.(true);
      await vi.waitFor(() => expect(server.sockets[0]?.destroyed).toBe(true), { timeout: 5000 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(reports).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it("reads a 'connect' whose socket has no peer as no answer, closes it, and says so", () => {
    const socket = new ScriptedTcpSocket();
    // The hook gets the dial's own socket while it is still open, so a lab can ask the kernel about it.
    const unproven: Array<{ port: number; same: boolean; open: boolean }> = [];
    const dialer = tcpDialer(LOOPBACK, undefined, scripted(socket), (port, s) =>
      unproven.push({ port, same: (s as unknown) === socket, open: !s.destroyed }),
    );
    const { reports } = dialOnce(dialer.dial, 20106);
    socket.emit('connect');
    expect(reports).toEqual([{ kind: 'void' }]);
    expect(socket.destroyed).toBe(true);
    expect(unproven).toEqual([{ port: 20106, same: true, open: true }]);
  });

  it('ends the unproven dial as no answer, its socket closed, even when the hook throws', () => {
    const socket = new ScriptedTcpSocket();
    const dialer = tcpDialer(LOOPBACK, undefined, scripted(socket), () => {
      throw new Error('hook failed');
    });
    const { reports } = dialOnce(dialer.dial, 20106);
    expect(() => socket.emit('connect')).toThrow('hook failed');
    expect(reports).toEqual([{ kind: 'void' }]);
    expect(socket.destroyed).toBe(true);
  });

  it("says nothing of a 'connect' the kernel's peer proves", async () => {
    const server = await keepingServer();
    try {
      const unproven: number[] = [];
      const { first } = dialOnce(tcpDialer(LOOPBACK, undefined, undefined, (p) => unproven.push(p)).dial, server.port);
      const outcome = await first;
      expect(outcome).toMatchObject({ kind: 'answer', result: { state: 'open' } });
      if (outcome.kind === 'answer') outcome.claim?.(false);
      expect(unproven).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('reports only the first of a connect and a later error', () => {
    const socket = new ScriptedTcpSocket();
    socket.remoteAddress = '127.0.0.1';
    socket.remotePort = 20106;
    const { reports } = dialOnce(tcpDialer(LOOPBACK, undefined, scripted(socket)).dial, 20106);
    socket.emit('connect');
    socket.emit('error', Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ kind: 'answer', result: { state: 'open' } });
  });

  it('reads a timeout as silence, no error and no round trip', () => {
    const socket = new ScriptedTcpSocket();
    const { reports } = dialOnce(tcpDialer(LOOPBACK, undefined, scripted(socket)).dial, 20106);
    socket.emit('error', Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' }));
    expect(reports).toEqual([
      { kind: 'answer', error: false, result: { port: 20106, state: 'filtered', reason: 'no-response', rttMs: null } },
    ]);
  });

  it.each([
    ['EMFILE', Object.assign(new Error('too many open files'), { code: 'EMFILE' })],
    ['UNKNOWN', new Error('no code at all')],
  ])('reads an error outside the table as a local failure (%s)', (code, error) => {
    const socket = new ScriptedTcpSocket();
    const { reports } = dialOnce(tcpDialer(LOOPBACK, undefined, scripted(socket)).dial, 20106);
    socket.emit('error', error);
    expect(reports).toHaveLength(1);
    const outcome = reports[0];
    expect(outcome?.kind).toBe('local');
    expect(outcome?.kind === 'local' && outcome.error).toBeInstanceOf(LocalProbeError);
    expect(outcome?.kind === 'local' && outcome.error.code).toBe(code);
  });

  it('reads a port connect() refuses at once as a local failure, reported after the dial returns', async () => {
    const { reports, first } = dialOnce(tcpDialer(LOOPBACK, undefined).dial, 70_000);
    expect(reports).toHaveLength(0);
    const outcome = await first;
    expect(outcome.kind === 'local' && outcome.error.code).toBe('ERR_SOCKET_BAD_PORT');
  });

  it('words silence with the hint only when there is one, and a blocked port as untestable', () => {
    const dialer = tcpDialer(LOOPBACK, undefined);
    // Strict: a `hint: undefined` key would still be written into the JSON's shape.
    expect(dialer.silence(1, undefined)).toStrictEqual({
      port: 1,
      state: 'filtered',
      reason: 'no-response',
      rttMs: null,
    });
    expect(dialer.silence(1, 'icmp-rate-limit')).toStrictEqual({
      port: 1,
      state: 'filtered',
      reason: 'no-response',
      rttMs: null,
      hint: 'icmp-rate-limit',
    });
    expect(dialer.untestable(25)).toEqual({ port: 25, state: 'untestable', reason: 'blocked-at-source', rttMs: null });
  });
});

/** A dgram socket that emits what the test says and records what is done to it. */
class ScriptedUdpSocket extends EventEmitter {
  sent = 0;
  closes = 0;
  onConnected: (() => void) | undefined;
  connect(_port: number, _address: string, callback: () => void): void {
    this.onConnected = callback;
  }
  send(_data: Buffer, _callback: (error: Error | null) => void): void {
    this.sent += 1;
  }
  close(): void {
    this.closes += 1;
    if (this.closes > 1) throw new Error('Not running');
  }
}

describe('UDP dialer', () => {
  it('reads a datagram back as an open answer that is no error, and closes its socket', async () => {
    const server = dgram.createSocket('udp4');
    server.on('message', (_m, peer) => server.send('pong', peer.port, peer.address));
    await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const outcome = await dialOnce(udpDialer(LOOPBACK, undefined).dial, port).first;
      expect(outcome).toMatchObject({
        kind: 'answer',
        error: false,
        result: { port, protocol: 'udp', state: 'open', reason: 'udp-response' },
      });
      expect(outcome.kind === 'answer' && outcome.result.rttMs).toBeGreaterThanOrEqual(0);
    } finally {
      server.close();
    }
  });

  it('reads port-unreachable as a closed answer that is an error', async () => {
    const holder = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => holder.bind(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    holder.close();
    await once(holder, 'close');
    const outcome = await dialOnce(udpDialer(LOOPBACK, undefined).dial, port).first;
    expect(outcome).toMatchObject({
      kind: 'answer',
      error: true,
      result: { port, protocol: 'udp', state: 'closed', reason: 'port-unreach' },
    });
  });

  it('sends nothing when closed before its socket connects, and reports nothing after', () => {
    const socket = new ScriptedUdpSocket();
    const { reports, handle } = dialOnce(
      udpDialer(LOOPBACK, undefined, () => socket as unknown as dgram.Socket).dial,
      51820,
    );
    handle.close();
    socket.onConnected?.();
    socket.emit('message', Buffer.from('late'));
    socket.emit('error', Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
    expect(socket.sent).toBe(0);
    expect(reports).toEqual([]);
    handle.close();
  });

  it('reports the first answer once and closes its socket once', () => {
    const socket = new ScriptedUdpSocket();
    const { reports } = dialOnce(udpDialer(LOOPBACK, undefined, () => socket as unknown as dgram.Socket).dial, 51820);
    socket.onConnected?.();
    expect(socket.sent).toBe(1);
    socket.emit('message', Buffer.from('pong'));
    socket.emit('error', Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ kind: 'answer', error: false, result: { state: 'open' } });
    expect(socket.closes).toBe(1);
  });

  it('reads an error with no code as a local failure', () => {
    const socket = new ScriptedUdpSocket();
    const { reports } = dialOnce(udpDialer(LOOPBACK, undefined, () => socket as unknown as dgram.Socket).dial, 51820);
    socket.emit('error', new Error('no code at all'));
    expect(reports).toHaveLength(1);
    expect(reports[0]?.kind === 'local' && reports[0].error.code).toBe('UNKNOWN');
  });

  it('words silence as open|filtered and a blocked port as untestable', () => {
    const dialer = udpDialer(LOOPBACK, undefined);
    expect(dialer.silence(53, undefined)).toEqual({
      port: 53,
      protocol: 'udp',
      state: 'open|filtered',
      reason: 'no-response',
      rttMs: null,
    });
    expect(dialer.untestable(53)).toEqual({
      port: 53,
      protocol: 'udp',
      state: 'untestable',
      reason: 'blocked-at-source',
      rttMs: null,
    });
  });
});
