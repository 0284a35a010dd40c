/**
 * The dial proof in the lab: IPv4 and IPv6 callers end to end through one dual-stack server,
 * `dialback --both` comparing the families, and `dialback listen` proving that the connection
 * reached the listening machine, not something answering in front of it.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callDialback, runCliIn, serverCommand, startListener } from '../support/lab/dialback.ts';
import { createLabPair, type LabPair, labSkipReason, type NsProcess } from '../support/netns.ts';

const skip = await labSkipReason('dual-stack, --both and listen lab tests');

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SERVER_ENV = { PROBE_TIMEOUT_MS: '1500', RATE_LIMIT_PER_MINUTE: '1000', RATE_LIMIT_PER_DAY: '100000' };

/** Listens on both families. */
const OPEN = 21001;
/** Listens on both families, but the client's firewall drops IPv6 to it. */
const V6_BLOCKED = 21002;
/** Free for `listen`. */
const LISTEN = 21010;
/** `listen` binds it, but the client's NAT redirects the checker's connections to OTHER. */
const REDIRECTED = 21011;
/** Another listener that answers for REDIRECTED. */
const OTHER = 21012;
/** Free for `listen`, but the client's firewall drops IPv6 to it. */
const LISTEN_V6_BLOCKED = 21013;

describe.runIf(skip === undefined)('IPv4 and IPv6 end to end, --both and listen', () => {
  let pair: LabPair;
  let hostsDir: string | undefined;
  const servers: NsProcess[] = [];
  let dualUrl = '';

  const cli = (args: readonly string[]) => runCliIn(pair.client, args);

  beforeAll(async () => {
    pair = await createLabPair('proof');
    // `ip netns exec` mounts /etc/netns/<ns>/hosts over /etc/hosts: a name with both families,
    // resolved from the file alone, so no DNS query is ever sent.
    hostsDir = `/etc/netns/${pair.client.ns}`;
    await mkdir(hostsDir, { recursive: true });
    await writeFile(
      `${hostsDir}/hosts`,
      `127.0.0.1 localhost\n${pair.checker.v4} checker.lab\n${pair.checker.v6} checker.lab\n`,
    );
    await pair.client.nft(`
      table inet proof {
        chain input {
          type filter hook input priority 0; policy accept;
          meta nfproto ipv6 tcp dport { ${V6_BLOCKED}, ${LISTEN_V6_BLOCKED} } drop
        }
        chain prerouting {
          type nat hook prerouting priority -100;
          tcp dport ${REDIRECTED} redirect to :${OTHER}
        }
      }`);
    await startListener(pair.client, [OPEN, V6_BLOCKED, OTHER]);
    const start = async (port: number, env: Record<string, string>): Promise<void> => {
      const server = pair.checker.start(await serverCommand('::', port), {
        env: { ...env, CHECKED_FROM: 'lab' },
        cwd: ROOT,
      });
      servers.push(server);
      await server.waitFor('Dialback listening on', 60_000);
    };
    await Promise.all([start(8787, SERVER_ENV), start(8788, { ...SERVER_ENV, IPV6_EGRESS: 'false' })]);
    dualUrl = 'http://checker.lab:8787';
  }, 120_000);

  afterAll(async () => {
    await pair?.destroy();
    if (hostsDir !== undefined) await rm(hostsDir, { recursive: true, force: true });
  });

  it('--both checks each family from one dual-stack server and names the IPv6 firewall', async () => {
    const json = await cli([`${OPEN},${V6_BLOCKED}`, '--both', '--json', '--api', dualUrl]);
    expect(json.code).toBe(1);
    const body = JSON.parse(json.out) as Record<'ipv4' | 'ipv6', { ip: string; family: number; results: unknown[] }>;
    expect(body.ipv4).toMatchObject({ ip: pair.client.v4, family: 4 });
    expect(body.ipv6).toMatchObject({ ip: pair.client.v6, family: 6 });
    expect(body.ipv4.results).toMatchObject([
      { port: OPEN, state: 'open', reason: 'syn-ack' },
      { port: V6_BLOCKED, state: 'open', reason: 'syn-ack' },
    ]);
    expect(body.ipv6.results).toMatchObject([
      { port: OPEN, state: 'open', reason: 'syn-ack' },
      { port: V6_BLOCKED, state: 'filtered', reason: 'no-response' },
    ]);
    const text = await cli([`${OPEN},${V6_BLOCKED}`, '--both', '--api', dualUrl]);
    expect(text.out).toMatch(new RegExp(`^${OPEN}/tcp\\s+open\\s+open$`, 'm'));
    expect(text.out).toMatch(new RegExp(`^${V6_BLOCKED}/tcp\\s+open\\s+filtered$`, 'm'));
    expect(text.out).toContain(`${V6_BLOCKED}/tcp open over IPv4, filtered over IPv6: your IPv6 firewall blocks it.`);
  });

  it('--both says so when the deployment cannot dial IPv6, instead of a false filtered', async () => {
    const { code, out } = await cli([String(OPEN), '--both', '--api', 'http://checker.lab:8788']);
    expect(code).toBe(1);
    expect(out).toMatch(new RegExp(`^${OPEN}/tcp\\s+open\\s+untestable$`, 'm'));
    expect(out).toContain('this deployment cannot dial IPv6, so only IPv4 was tested');
  });

  for (const family of [4, 6] as const) {
    it(`listen verifies the connection reached this machine (API over IPv${family})`, async () => {
      const api = family === 4 ? `http://${pair.checker.v4}:8787` : `http://[${pair.checker.v6}]:8787`;
      const { code, out } = await cli(['listen', String(LISTEN), '--api', api]);
      expect(out).toContain(`${LISTEN}/tcp open, verified: the connection reached this machine.`);
      expect(code).toBe(0);
    });

    it(`listen reports open but not verified when something else answers (IPv${family})`, async () => {
      const api = family === 4 ? `http://${pair.checker.v4}:8787` : `http://[${pair.checker.v6}]:8787`;
      const { code, out } = await cli(['listen', String(REDIRECTED), '--api', api]);
      expect(out).toMatch(new RegExp(`^${REDIRECTED}/tcp\\s+open\\s+syn-ack`, 'm'));
      expect(out).toContain(
        `${REDIRECTED}/tcp open, not verified: something answered, but not this machine's listener`,
      );
      expect(code).toBe(1);
    });
  }

  it('listen --both verifies each family, and a blocked family gets the same advice as a check', async () => {
    const both = await cli(['listen', String(LISTEN), '--both', '--api', dualUrl]);
    expect(both.out.match(/open, verified: the connection reached this machine\./g)).toHaveLength(2);
    expect(both.code).toBe(0);
    const blocked = await cli(['listen', String(LISTEN_V6_BLOCKED), '--both', '--api', dualUrl]);
    expect(blocked.out).toContain(`${LISTEN_V6_BLOCKED}/tcp open, verified: the connection reached this machine.`);
    expect(blocked.out).toContain(
      `${LISTEN_V6_BLOCKED}/tcp filtered: dialback was listening on this machine and nothing from where the check ran reached it.`,
    );
    expect(blocked.out).toContain(`What to try for filtered port ${LISTEN_V6_BLOCKED}:`);
    expect(blocked.code).toBe(1);
  });

  it('refuses a malformed token cleanly, without echoing it or dialing', async () => {
    const server = { url: `http://${pair.checker.v4}:8787`, process: servers[0] as NsProcess };
    const bad = ['short', 'x'.repeat(65), 'abcdefghijklmnop%0Aevil', 'abcdefghijklmnop%20x'];
    const answers = await callDialback(
      pair.client,
      server,
      bad.map((t) => `/check/${OPEN}?token=${t}`),
      2,
    );
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({
        status: 400,
        detail: 'A token must be 16 to 64 characters of A-Z, a-z, 0-9, "-" or "_".',
      });
    }
  });
});
