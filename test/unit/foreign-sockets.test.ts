import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseLsof, parseNetstat } from '../../functions/cli/foreign-sockets.ts';
import { findListeners } from '../../functions/cli/listeners.ts';
import type { ProcFiles } from '../../functions/cli/local-service.ts';

/**
 * Written to match real output (no macOS or Windows machine was at hand to capture from): lsof
 * 4.91's columns with its 9-character command names and DEVICE pointers, and Windows 11's
 * `netstat -ano` with CRLF line ends, IPv6 in brackets, a zone index and TIME_WAIT rows.
 */
const fixture = (name: string): string => readFileSync(new URL(`../fixtures/sockets/${name}`, import.meta.url), 'utf8');
const NO_PROC: ProcFiles = { read: () => undefined, list: () => [], link: () => undefined };
const at = (port: number) => (l: { port: number }) => l.port === port;

describe('parseLsof (macOS)', () => {
  it('reads wildcard, loopback and one-address TCP listeners with their command and pid', () => {
    const tcp = parseLsof(fixture('lsof-tcp-listen.txt'), 'tcp');
    expect(tcp.filter(at(25565))).toEqual([
      { protocol: 'tcp', address: '::', port: 25565, inode: 0, uid: -1, process: { pid: 4188, name: 'java' } },
    ]);
    expect(tcp.filter(at(5432)).map((l) => l.address)).toEqual(['::1', '127.0.0.1']);
    expect(tcp.filter(at(22)).map((l) => l.address)).toEqual(['::', '0.0.0.0']);
    expect(tcp.filter(at(8000))).toMatchObject([{ address: '192.168.1.20', process: { name: 'Python' } }]);
    expect(tcp).toHaveLength(11);
  });

  it('reads bound UDP sockets and leaves connected ones out', () => {
    const udp = parseLsof(fixture('lsof-udp.txt'), 'udp');
    expect(udp.map((l) => [l.address, l.port])).toEqual([
      ['0.0.0.0', 137],
      ['0.0.0.0', 5353],
      ['::', 5353],
      ['127.0.0.1', 51820],
    ]);
    expect(udp.find(at(57621))).toBeUndefined();
  });
});

describe('parseNetstat (Windows)', () => {
  it('reads the LISTENING TCP rows with their pid, skipping connections', () => {
    const tcp = parseNetstat(fixture('netstat-ano.txt'), 'tcp');
    expect(tcp.filter(at(25565)).map((l) => l.address)).toEqual(['0.0.0.0', '::']);
    expect(tcp.filter(at(3000))).toEqual([
      { protocol: 'tcp', address: '127.0.0.1', port: 3000, inode: 0, uid: -1, process: { pid: 8840 } },
    ]);
    expect(tcp.find(at(52344))).toBeUndefined();
    expect(tcp.filter(at(2869)).map((l) => l.address)).toEqual(['fe80::1c2d:3e4f:5a6b:7c8d']);
  });

  it('reads every UDP row', () => {
    const udp = parseNetstat(fixture('netstat-ano.txt'), 'udp');
    expect(udp.map((l) => `${l.address} ${l.port} ${l.process?.pid}`)).toEqual([
      '0.0.0.0 5353 2216',
      '127.0.0.1 1900 3920',
      '192.168.1.20 51820 5160',
      ':: 5353 2216',
      '::1 1900 3920',
    ]);
  });
});

describe('findListeners', () => {
  it('asks lsof on macOS for that port only, and netstat on Windows', () => {
    const asked: string[] = [];
    const run = (command: string, args: readonly string[]): string | undefined => {
      asked.push([command, ...args].join(' '));
      return command === 'lsof' ? fixture('lsof-tcp-listen.txt') : fixture('netstat-ano.txt');
    };
    expect(findListeners(25565, 'tcp', NO_PROC, run, 'darwin')).toMatchObject({
      source: 'lsof',
      listeners: [{ address: '::', process: { name: 'java' } }],
    });
    expect(findListeners(3000, 'tcp', NO_PROC, run, 'win32')).toMatchObject({
      source: 'netstat -ano',
      listeners: [{ address: '127.0.0.1', process: { pid: 8840 } }],
    });
    expect(asked).toEqual(['lsof -nP -iTCP:25565 -sTCP:LISTEN', 'netstat -ano']);
  });

  it('says it could not read (undefined) when the command fails or the OS has no reader', () => {
    expect(findListeners(80, 'tcp', NO_PROC, () => undefined, 'darwin')).toBeUndefined();
    expect(findListeners(80, 'tcp', NO_PROC, () => '', 'freebsd')).toBeUndefined();
  });
});
