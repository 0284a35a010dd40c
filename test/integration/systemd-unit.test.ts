/**
 * The systemd unit the README offers (infra/local/dialback.service): systemd itself accepts it
 * (`systemd-analyze verify`: no unknown key, no bad value, an executable ExecStart), and the
 * command it runs starts the built server as documented, with production dependencies only,
 * behind a trusted proxy on loopback with its counters in a directory (port and directory
 * swapped for a free port and a temporary one).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVE_NODE_FLAGS, SERVER_DIR, SERVER_FILE } from '../../infra/local/build-server.ts';
import { productionTree } from '../support/built-server.ts';
import { getOnce } from '../support/http-client.ts';
import { type LocalChild, startBuiltServerChild } from '../support/local-child.ts';
import { skipReason } from '../support/requirements.ts';

const run = promisify(execFile);
const UNIT = fileURLToPath(new URL('../../infra/local/dialback.service', import.meta.url));
const skip = await skipReason('systemd unit check', ['systemd-analyze']);

/** The unit's `ExecStart=`: Node's flags, the script (relative to its WorkingDirectory) and its arguments. */
function command(unit: string): { flags: string[]; script: string | undefined; args: string[] } {
  const line = unit.split('\n').find((l) => l.startsWith('ExecStart='));
  const words = (line ?? '').slice('ExecStart='.length).split(/\s+/).slice(1);
  const at = words.findIndex((w) => !w.startsWith('--'));
  return { flags: words.slice(0, at), script: words[at], args: words.slice(at + 1) };
}

describe('the example systemd unit', () => {
  let unit: string;
  let dir: string;
  let child: LocalChild | undefined;
  beforeAll(async () => {
    unit = await readFile(UNIT, 'utf8');
    dir = await mkdtemp(join(tmpdir(), 'dialback-unit-'));
  });
  afterAll(async () => {
    await child?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it.runIf(skip === undefined)('passes systemd-analyze verify with nothing to say', async () => {
    // The unit names /usr/bin/node, Debian's; verify needs it to exist, so point it at this node.
    const copy = join(dir, 'dialback.service');
    await writeFile(copy, unit.replace('ExecStart=/usr/bin/node', `ExecStart=${process.execPath}`));
    const { stdout, stderr } = await run('systemd-analyze', ['verify', copy], { timeout: 30_000 });
    expect(`${stdout}${stderr}`).toBe('');
  });

  it('is hardened: a throwaway user, a read-only system, only the address families it needs', () => {
    for (const setting of [
      'DynamicUser=yes',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'CapabilityBoundingSet=',
      'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
      'StateDirectory=dialback',
    ]) {
      expect(unit.split('\n'), setting).toContain(setting);
    }
  });

  it('runs the built server (no dev dependencies) behind the trusted local proxy, counters kept', async () => {
    const { flags, script, args } = command(unit);
    expect(script).toBe(`${SERVER_DIR}/${SERVER_FILE}`);
    // The same Node flags as npm run serve, whose memory the bench measures.
    expect(flags).toEqual(SERVE_NODE_FLAGS);
    const manifest = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(manifest.scripts.serve).toBe(`node ${SERVE_NODE_FLAGS.join(' ')} ${SERVER_DIR}/${SERVER_FILE}`);
    expect(args).toContain('--trust-proxy');
    const swapped = args.map((arg, i) =>
      args[i - 1] === '--port' ? '0' : args[i - 1] === '--data-dir' ? join(dir, 'state') : arg,
    );
    // Laid out as the unit's WorkingDirectory is after the README's install steps.
    const install = join(dir, 'opt-dialback');
    await productionTree(install);
    child = await startBuiltServerChild(script as string, swapped, install, {}, flags);
    const answer = await getOnce(`${child.url}/ip`, {
      headers: { accept: 'application/json', 'x-forwarded-for': '203.0.113.9' },
    });
    expect(JSON.parse(answer.body).ip).toBe('203.0.113.9');
    await expect(readFile(join(dir, 'state', 'rate-limit.key'), 'utf8')).resolves.toMatch(/^\S{20,}$/);
  });
});
