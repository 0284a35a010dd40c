/**
 * The checks that prove verdicts and families, which only a machine the service dials directly
 * can prove: a port opened here reads open with the dial proof, a refused one reads closed, and
 * the dual-stack endpoint is reached over IPv6. Behind NAT they end `unproven`, not passed.
 */
import { listenForProof } from '../../functions/cli/listen.ts';
import { newToken, proofLine } from '../../functions/contract/dial-proof.ts';
import { askIp, Expectation, expect, type Session, Unproven } from './session.ts';
import { NO_ROUTE_FROM_HERE, refusedPort } from './vantage.ts';

/** What `GET /ip` answered at the endpoint under test. */
export interface Seen {
  readonly ip: string;
  readonly family: number;
  /** Whether `ip` is one of this machine's own addresses: the service dials this machine. */
  readonly direct: boolean;
  readonly endpoints: { readonly ipv4?: unknown; readonly dualStack?: unknown };
}

interface CheckBody {
  readonly ip: string;
  readonly family: number;
  readonly results: readonly { readonly state: string; readonly reason: string }[];
}

/** Why a verdict is unproven behind NAT, and what to do about it. */
function natAdvice(seen: string): string {
  return (
    `the API sees ${seen}, which is not an address of this machine (NAT, CGNAT or a proxy in between), ` +
    'so a port opened or refused here is not what the service reaches: the verdict path is unproven from here. ' +
    'To prove it, run `npm run smoke -- --api URL` from a host whose own interface holds a public address ' +
    '(a cloud VM with a public IPv4 address, or a host with global IPv6 against ApiUrlDualStack) ' +
    'and whose firewall lets inbound TCP in'
  );
}

/** The deployment's other endpoints, each over the family it claims. */
export async function endpointSteps({ request, step }: Session, base: string, seen: Seen): Promise<void> {
  const { endpoints } = seen;
  // The IPv4-only endpoint, when it is not the one under test, must answer, and over IPv4.
  if (typeof endpoints.ipv4 === 'string' && endpoints.ipv4 !== base) {
    const at = endpoints.ipv4;
    await step(`the IPv4-only endpoint answers over IPv4 (GET ${at}/ip)`, async () => {
      const ip = await askIp(request, { at });
      expect(ip.family === 4, `it saw IPv${ip.family}: an IPv4-only endpoint let an IPv6 caller in`);
      return `${ip.ip} (IPv4)`;
    });
  }
  // A dual-stack endpoint claims IPv6: reach it over IPv6 alone and have it say so.
  if (typeof endpoints.dualStack === 'string') {
    const at = endpoints.dualStack;
    await step(`the dual-stack endpoint answers over IPv6 (GET ${at}/ip)`, async () => {
      let ip: { ip: string; family: number };
      try {
        ip = await askIp(request, { at, family: 6 });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== undefined && NO_ROUTE_FROM_HERE.has(code)) {
          throw new Unproven(`this machine has no IPv6 path (${code}); run from a host with global IPv6 to prove it`);
        }
        if (code === 'ENOTFOUND') throw new Expectation(`${new URL(at).hostname} has no IPv6 address (no AAAA)`);
        throw error;
      }
      expect(ip.family === 6, `connected over IPv6 but it saw IPv${ip.family}`);
      return `${ip.ip} (IPv6)`;
    });
  }
}

/** The opened and the refused port, each read as it truly is, or unproven behind NAT. */
export async function verdictSteps({ request, step }: Session, seen: Seen, proofWaitMs: number): Promise<void> {
  /** A charged check of one port, held to the contract every check must meet. */
  const check = async (path: string): Promise<{ state: string; reason: string }> => {
    const response = await request({ method: 'GET', path });
    expect(response.status === 200, `answered ${response.status}: ${response.body.slice(0, 200)}`);
    for (const name of ['ratelimit', 'ratelimit-policy']) {
      expect(response.headers[name] !== undefined, `no ${name} header on a charged check`);
    }
    const body = JSON.parse(response.body) as CheckBody;
    expect(body.family === seen.family, `checked IPv${body.family}, /ip saw IPv${seen.family}`);
    expect(body.ip === seen.ip, `checked ${body.ip}, /ip saw ${seen.ip}`);
    const result = body.results[0];
    expect(result !== undefined, 'no result');
    return result;
  };
  const unprovenBehindNat = (read: string): Unproven => new Unproven(`${read}; ${natAdvice(seen.ip)}`);

  await step('a port this machine opens reads open, with dial proof (GET /check/{port}?token=)', async () => {
    const token = newToken();
    const listener = await listenForProof(0, proofLine(token));
    try {
      const result = await check(`/check/${listener.port}?token=${token}`);
      const read = `${listener.port}/tcp ${result.state} (${result.reason})`;
      if (!seen.direct) throw unprovenBehindNat(`read ${read}`);
      expect(
        result.state === 'open',
        `${read}: the service dialled this machine's own address, where the port is listening, so it must read open (unless this machine's firewall drops inbound TCP)`,
      );
      expect(await listener.whenVerified(proofWaitMs), 'open, but the proof line never arrived');
      return `${listener.port}/tcp open, proof line received; RateLimit headers present`;
    } finally {
      await listener.close();
    }
  });

  await step('a port this machine refuses reads closed (GET /check/{port})', async () => {
    if (!seen.direct) throw unprovenBehindNat('not checked, so as to spend nothing');
    const port = await refusedPort();
    const result = await check(`/check/${port}`);
    expect(
      result.state === 'closed',
      `${port}/tcp ${result.state} (${result.reason}): nothing listens on it here, so it must read closed (unless this machine's firewall drops instead of refusing)`,
    );
    return `${port}/tcp closed (${result.reason})`;
  });
}
