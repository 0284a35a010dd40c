import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DOCTOR_STEPS } from '../../functions/contract/doctor.ts';
import { runCaptured } from '../support/cli-run.ts';
import { line, reportOf } from '../support/doctor-output.ts';
import { documentedAppForFile } from '../support/documented-app.ts';
import { listening, releasedPort } from '../support/ports.ts';

const app = documentedAppForFile({ PROBE_TIMEOUT_MS: '1500' });

describe('dialback doctor against the local server', () => {
  it('nothing listening: listens on the port itself, proves the check reached it, and exits 0', async () => {
    const port = await releasedPort();
    const { code, out, err } = await runCaptured(['doctor', String(port), '--api', app.url]);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^dialback doctor ${port}/tcp$`, 'm'));
    expect(line(out, 'Service')).toBe(
      `✔ Service              Nothing listened on ${port}/tcp, so the doctor listened on it itself (all addresses) for the check, and stopped when it ended.`,
    );
    expect(line(out, 'Bind address')).toMatch(/^✔ /);
    expect(line(out, 'Router')).toMatch(
      /^\? Router +The API saw 127\.0\.0\.1, this machine over loopback: no router is between them/,
    );
    expect(line(out, 'From outside')).toMatch(
      new RegExp(
        `^✔ From outside +${port}/tcp open \\(syn-ack\\).*received its one-time token, so this machine answered\\.$`,
      ),
    );
    expect(out).toContain(`Open: ${port}/tcp answered from outside, and it was this machine.`);
    // The doctor let go of the port when it ended.
    const again = await listening();
    await again.close();
  });

  it('a service on all addresses: names it, checks it, and exits 1 because the answer is not proven', async () => {
    const service = await listening('0.0.0.0');
    try {
      const { code, out } = await runCaptured(['doctor', String(service.port), '--api', app.url]);
      expect(code).toBe(1);
      // The name the kernel keeps for this process (vitest renames its worker's main thread).
      const name = readFileSync('/proc/self/comm', 'utf8').trim();
      expect(line(out, 'Service')).toContain(`${name} (pid ${process.pid}) listens on ${service.port}/tcp`);
      expect(line(out, 'Bind address')).toMatch(/^✔ Bind address +It listens on all addresses \(0\.0\.0\.0\)\.$/);
      expect(line(out, 'From outside')).toMatch(/^\? From outside .*open .*could not prove/);
      expect(out).toContain('Not proven:');
      expect(out).toContain(`Next step: Stop the program on ${service.port}/tcp for a moment`);
    } finally {
      await service.close();
    }
  });

  it('a service on 127.0.0.1 only: the bind address is the broken link, and it exits 1', async () => {
    const service = await listening('127.0.0.1');
    try {
      const { code, out } = await runCaptured(['doctor', String(service.port), '--api', app.url]);
      expect(code).toBe(1);
      expect(line(out, 'Bind address')).toBe(
        '✘ Bind address         It listens on 127.0.0.1 only: only this machine can reach it.',
      );
      expect(out).toContain('Broken at: bind address.');
      expect(out).toContain('Next step: Make it listen on all addresses (0.0.0.0 or ::)');
    } finally {
      await service.close();
    }
  });

  it('--json prints every step as data, in the documented order and shape', async () => {
    const service = await listening('127.0.0.1');
    try {
      const { code, out } = await runCaptured(['doctor', String(service.port), '--api', app.url, '--json']);
      expect(code).toBe(1);
      const report = reportOf(out);
      expect(report.port).toBe(service.port);
      expect(report.protocol).toBe('tcp');
      expect(report.steps.map((s) => s.step)).toEqual([...DOCTOR_STEPS]);
      for (const step of report.steps) {
        expect(['ok', 'broken', 'unknown']).toContain(step.status);
        expect(typeof step.evidence).toBe('string');
      }
      expect(report.steps[1]).toMatchObject({ step: 'bind', status: 'broken', advice: expect.any(String) });
      expect(report.verdict).toMatchObject({ status: 'broken', step: 'bind' });
      expect(report.check).toMatchObject({ ip: '127.0.0.1', results: [{ port: service.port, state: 'open' }] });
    } finally {
      await service.close();
    }
  });

  it('exits 2 when the API cannot be reached, still reporting what it saw on this machine', async () => {
    const port = await releasedPort();
    const nobody = `http://127.0.0.1:${await releasedPort()}`;
    const { code, out } = await runCaptured(['doctor', String(port), '--api', nobody, '--json']);
    expect(code).toBe(2);
    const report = reportOf(out);
    expect(report.verdict).toMatchObject({ status: 'failed', step: 'outside' });
    expect(report.verdict.next).toContain(`Nothing is listening at ${nobody}`);
  });

  it('takes exactly one port', async () => {
    const { code, err } = await runCaptured(['doctor', '22', '80', '--api', app.url]);
    expect(code).toBe(2);
    expect(err).toContain('"dialback doctor" takes exactly one port.');
  });

  it('takes --map only for doctor, and --keep only with --map', async () => {
    const check = await runCaptured(['22', '--map', '--api', app.url]);
    expect(check.code).toBe(2);
    expect(check.err).toContain('--map and --keep belong to "dialback doctor"');
    const keep = await runCaptured(['doctor', '22', '--keep', '--api', app.url]);
    expect(keep.code).toBe(2);
    expect(keep.err).toContain('--keep keeps the forward --map makes; give --map too.');
  });
});

describe('dialback doctor --udp against the local server', () => {
  it('nothing listening on the UDP port: listens itself, receives its token, and exits 0', async () => {
    const port = await releasedPort();
    const { code, out } = await runCaptured(['doctor', String(port), '--udp', '--api', app.url]);
    expect(out).toMatch(new RegExp(`^dialback doctor ${port}/udp$`, 'm'));
    expect(line(out, 'Service')).toContain(`Nothing listened on ${port}/udp, so the doctor listened on it itself`);
    expect(line(out, 'From outside')).toMatch(/^✔ From outside .*received its one-time token/);
    expect(code).toBe(0);
  });
});
