/**
 * `dialback --from` and the typed client's `checkRegions` against real local servers standing
 * in for regions: a primary whose REGIONS lists itself, a second server, and a region whose API
 * does not answer. On loopback every region sees the same ports, so this is about the fan-out,
 * the columns, the error cell and the exit status; the lab shows regions that disagree.
 */
import { describe, expect, it } from 'vitest';
import { createClient } from '../../functions/client/dialback-client.ts';
import { UnknownRegion } from '../../functions/contract/regions.ts';
import { runCaptured } from '../support/cli-run.ts';
import { localRegionsForFile } from '../support/local-regions.ts';
import { portPairForFile } from '../support/port-pair.ts';

const ENV = { PROBE_TIMEOUT_MS: '1500' };
const regions = localRegionsForFile(ENV);
const ports = portPairForFile();

const cli = (args: string[]) => runCaptured(args);

describe('checkRegions (typed client)', () => {
  it('checks from every listed region at once; a dead region is an error outcome, not a rejection', async () => {
    const checks = await createClient({ api: regions.primary.url }).checkRegions([ports.open, ports.closed]);
    expect(checks.ports).toEqual([ports.open, ports.closed]);
    const [a, b, c] = checks.outcomes;
    expect(a).toMatchObject({ ok: true, region: { name: 'region-a' }, check: { checkedFrom: 'region-a' } });
    expect(b).toMatchObject({ ok: true, region: { name: 'region-b' }, check: { checkedFrom: 'region-b' } });
    expect(c).toMatchObject({ ok: false, region: { name: 'region-c', api: regions.deadUrl }, error: { status: 0 } });
    for (const outcome of [a, b]) {
      expect(outcome?.ok && outcome.check.results.map((r) => r.state)).toEqual(['open', 'closed']);
    }
  });

  it('checks from the regions named, in that order, and refuses one that is not listed', async () => {
    const client = createClient({ api: regions.primary.url });
    const checks = await client.checkRegions([ports.open], { from: ['region-b', 'region-a'] });
    expect(checks.outcomes.map((o) => o.region.name)).toEqual(['region-b', 'region-a']);
    await expect(client.checkRegions([ports.open], { from: ['mars-1'] })).rejects.toThrow(UnknownRegion);
  });

  it('lists a one-region server alone, by the URL it was called on', async () => {
    const checks = await createClient({ api: regions.second.url }).checkRegions([ports.open]);
    expect(checks.outcomes).toMatchObject([{ ok: true, region: { name: 'region-b', api: regions.second.url } }]);
  });
});

describe('dialback --from', () => {
  it('prints one column per region, an error cell for the region that did not answer, and exits 2', async () => {
    const { code, out } = await cli([
      String(ports.open),
      String(ports.closed),
      '--from',
      'all',
      '--api',
      regions.primary.url,
    ]);
    expect(out).toMatch(/^PORT\s+region-a\s+region-b\s+region-c$/m);
    expect(out).toMatch(new RegExp(`^${ports.open}/tcp\\s+open\\s+open\\s+error$`, 'm'));
    expect(out).toMatch(new RegExp(`^${ports.closed}/tcp\\s+closed\\s+closed\\s+error$`, 'm'));
    // The region's failure in the CLI's own words, as a one-region check would put it.
    expect(out).toContain('region-c: no answer (Nothing is listening at http://127.0.0.1:');
    expect(out).not.toMatch(/open from .*, closed from/);
    // What a one-region check would add: the advice for the closed port, once though two regions
    // read it so, and that this was a local check.
    expect(out.match(new RegExp(`What to try for closed port ${ports.closed}:`, 'g'))).toHaveLength(1);
    expect(out).toContain('This is a local check: 127.0.0.1 is not a public address');
    expect(code).toBe(2);
  });

  it('exits 0 when every port is open from every region asked, 1 when one is not', async () => {
    expect((await cli([String(ports.open), '--from', 'region-a,region-b', '--api', regions.primary.url])).code).toBe(0);
    const some = await cli([`${ports.open},${ports.closed}`, '--from', 'region-b', '--api', regions.primary.url]);
    expect(some.out).toMatch(/^PORT\s+region-b$/m);
    expect(some.code).toBe(1);
  });

  it('answers JSON with every region’s check or error and the diagnoses', async () => {
    const { code, out } = await cli([String(ports.open), '--from', 'all', '--json', '--api', regions.primary.url]);
    const body = JSON.parse(out) as { ports: number[]; regions: Array<Record<string, unknown>>; diagnoses: string[] };
    expect(body.ports).toEqual([ports.open]);
    expect(body.regions.map((r) => r.name)).toEqual(['region-a', 'region-b', 'region-c']);
    expect(body.regions[0]).toHaveProperty('check.results.0.state', 'open');
    expect(body.regions[2]).toHaveProperty('error.status', 0);
    expect(body.diagnoses).toHaveLength(1);
    expect(code).toBe(2);
  });

  it.each([
    [['--from', 'mars-1'], /No region "mars-1" here; this deployment checks from region-a, region-b, region-c/],
    [['--from', 'region-a,,region-b'], /--from takes "all" or region names separated by commas/],
    [['--from', 'all', '--both'], /--from checks ports; it does not combine/],
    [['--from', 'all', '--udp'], /--from checks TCP ports; check UDP from one region at a time with --api/],
  ])('refuses %j with a usage error', async (args, message) => {
    const { code, err } = await cli([String(ports.open), ...args, '--api', regions.primary.url]);
    expect(err).toMatch(message);
    expect(code).toBe(2);
  });
});
