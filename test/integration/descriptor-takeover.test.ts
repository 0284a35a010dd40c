/**
 * The false open of issue 21, made on purpose: a dial's descriptor closed under the runtime and
 * taken at once by another socket. The runtime then reports the other socket's readiness as the
 * dial's own 'connect' (libuv watches a descriptor number, not a socket), which is exactly the
 * signature seen in the lab: a connection no SYN-ACK from the target stands behind, with another
 * peer or none. The probe must read the port from its other attempts (here: closed), never open,
 * and the lab's kernel view must name the descriptor as not the dial's own socket. Real sockets,
 * real runtime; only the close is a fault, in a child process of its own.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { PortResult } from '../../functions/contract/wire.ts';
import type { UnprovenDial } from '../support/lab/remembering-probe.ts';
import { releasedPort } from '../support/ports.ts';

interface ChildReport {
  readonly results: readonly PortResult[];
  readonly unproven: readonly UnprovenDial[];
  readonly listener: { readonly port: number } | string;
}

async function checkWithTakeover(port: number, mode: 'none' | 'tcp' | 'unix'): Promise<ChildReport> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'test/support/takeover-child.ts', String(port), mode],
    { timeout: 30_000 },
  );
  return JSON.parse(stdout) as ChildReport;
}

describe("a dial whose descriptor another socket takes (the runtime's false 'connect')", () => {
  it('without the fault: closed, and no unproven dial (the control)', async () => {
    const report = await checkWithTakeover(await releasedPort(), 'none');
    expect(report.results).toEqual([expect.objectContaining({ state: 'closed', reason: 'conn-refused' })]);
    expect(report.unproven).toEqual([]);
  });

  it('taken by a connection to another port: the runtime says connected, the probe still reads closed', async () => {
    const port = await releasedPort();
    const report = await checkWithTakeover(port, 'tcp');
    // Trusting the runtime's 'connect' here is the false open: { state: 'open', reason: 'syn-ack' }.
    expect(report.results).toEqual([expect.objectContaining({ port, state: 'closed', reason: 'conn-refused' })]);
    const listener = report.listener as { port: number };
    expect(report.unproven).toEqual([
      {
        port,
        kernel: expect.stringMatching(
          new RegExp(
            `^fd \\d+ \\(not the dial's own socket \\d+\\): ESTABLISHED 127\\.0\\.0\\.1:\\d+ → 127\\.0\\.0\\.1:${listener.port}$`,
          ),
        ),
      },
    ]);
  });

  it('taken by a Unix socket: connected with no IP peer at all, and still closed', async () => {
    const port = await releasedPort();
    const report = await checkWithTakeover(port, 'unix');
    expect(report.results).toEqual([expect.objectContaining({ port, state: 'closed', reason: 'conn-refused' })]);
    expect(report.unproven).toEqual([
      { port, kernel: expect.stringMatching(/^fd \d+ \(not the dial's own socket \d+\): a Unix socket \(unnamed\)$/) },
    ]);
  });
});
