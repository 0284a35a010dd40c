/**
 * Root links (namespaces joined to the test's own namespace) claim their /24 across every
 * process of the run: test files run in parallel, and two links on one subnet would route one
 * test's packets into the other's namespace, where they would read as a verdict.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { claimHostLinkNet, createHostLink, HOST_LINK_NETS } from '../support/netns.ts';
import { skipReason } from '../support/requirements.ts';

const skip = await skipReason('root-link subnet claims', ['root', 'ip']);

/** A PID that no process has: one of a child that has exited. */
function exitedPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

describe.runIf(skip === undefined)('root-link subnet claims', () => {
  const dirs: string[] = [];
  const claimsDir = (): string => {
    const dir = mkdtempSync(join(os.tmpdir(), 'dialback-claims-'));
    dirs.push(dir);
    return dir;
  };
  /** Claims every /24 but `except` for a process that is alive (this one). */
  const fillBut = (dir: string, except: readonly number[]): void => {
    for (let i = 0; i < HOST_LINK_NETS; i++) {
      if (!except.includes(i)) writeFileSync(join(dir, String(i)), String(process.pid));
    }
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('gives claims made at once distinct subnets, and frees each on release', async () => {
    const dir = claimsDir();
    const claims = await Promise.all(Array.from({ length: 64 }, () => claimHostLinkNet(dir)));
    expect(new Set(claims.map((c) => c.v4Net)).size).toBe(64);
    expect(new Set(claims.map((c) => c.v6Net)).size).toBe(64);
    for (const c of claims) expect(c.v4Net).toMatch(/^198\.1[89]\.\d{1,3}$/);
    expect(readdirSync(dir)).toHaveLength(64);
    for (const c of claims) c.release();
    expect(readdirSync(dir)).toHaveLength(0);
  });

  it('never takes a live claim, and says so when none is free', async () => {
    const dir = claimsDir();
    fillBut(dir, []);
    await expect(claimHostLinkNet(dir)).rejects.toThrow(/no free \/24/);
  });

  it('takes over the claim of a process that is gone, and only that one; a claim still being written is not', async () => {
    const dir = claimsDir();
    fillBut(dir, [7, 300]);
    writeFileSync(join(dir, '7'), String(exitedPid()));
    writeFileSync(join(dir, '300'), '');
    const claim = await claimHostLinkNet(dir);
    expect(claim.index).toBe(7);
    expect(claim.v4Net).toBe('198.18.7');
    await expect(claimHostLinkNet(dir)).rejects.toThrow(/no free \/24/);
  });

  it('leaves a /24 alone while the root namespace has an address in it, claimed or not', async () => {
    // A real link: its /24 is in the root namespace's addresses, as a killed run's leftover link would be.
    const link = await createHostLink('claims');
    try {
      const [, second = 0, third = 0] = link.hostV4.split('.').map(Number);
      const index = (second - 18) * 256 + third;
      const dir = claimsDir();
      fillBut(dir, [index]);
      await expect(claimHostLinkNet(dir)).rejects.toThrow(/no free \/24/);
    } finally {
      await link.destroy();
    }
  });
});
