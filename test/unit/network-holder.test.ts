import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { compiledHoldersFile, datasetDate, localHolders } from '../../functions/build/holders-data.ts';
import { classifyAddress } from '../../functions/contract/address.ts';
import { holderLine, holderNote } from '../../functions/contract/holder-text.ts';
import { HOSTING_NETWORKS } from '../../functions/core/hosting-networks.ts';
import { decodeHolders, type HolderTable } from '../../functions/core/network-holder.ts';

const require = createRequire(import.meta.url);
const packageDir = (name: string): string => dirname(require.resolve(`${name}/package.json`));
const ASN_DIR = packageDir('@ip-location-db/asn');
const COUNTRY_DIR = packageDir('@ip-location-db/geo-whois-asn-country');

/** Every `step`-th row of a shipped CSV, split (the last field unquoted). */
function sample(file: string, step: number): string[][] {
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  return lines
    .filter((_, i) => i % step === 0)
    .map((line) => {
      const [a = '', b = '', c = '', ...rest] = line.split(',');
      const last = rest.join(',');
      return [a, b, c, last.startsWith('"') ? last.slice(1, -1).replaceAll('""', '"') : last];
    });
}

/** The table keeps IPv6 by /64 (network-holder.ts): a range that starts or ends inside one is not exact. */
function wholeSixtyFours([start = '', end = '']: string[]): boolean {
  if (!start.includes(':')) return true;
  return (
    ipaddr.IPv6.parse(start)
      .parts.slice(4)
      .every((p) => p === 0) &&
    ipaddr.IPv6.parse(end)
      .parts.slice(4)
      .every((p) => p === 0xffff)
  );
}

function lookup(table: HolderTable, address: string) {
  const source = classifyAddress(address);
  if (source === undefined) throw new Error(`not an address: ${address}`);
  return table.lookup(source);
}

const table = await localHolders()();
if (table === undefined) throw new Error('the dataset did not load');

describe('network holders (the shipped dataset)', () => {
  it('finds the holder and country of known networks of both families', () => {
    expect(lookup(table, '2.58.100.7')).toEqual({ asn: 3320, org: 'Deutsche Telekom AG', country: 'DE', kind: null });
    expect(lookup(table, '2001:678:36c::1')).toMatchObject({ asn: 3320, org: 'Deutsche Telekom AG', country: 'DE' });
    expect(lookup(table, '3.5.140.2')).toMatchObject({ asn: 16509, org: 'Amazon.com, Inc.', kind: 'hosting' });
  });

  it('answers every sampled IPv4 range of the ASN file at its first and last address', () => {
    const rows = sample(join(ASN_DIR, 'asn-ipv4.csv'), 997);
    expect(rows.length).toBeGreaterThan(300);
    for (const [start = '', end = '', asn, org] of rows) {
      for (const address of [start, end]) {
        expect(lookup(table, address), address).toMatchObject({ asn: Number(asn), org });
      }
    }
  });

  it('answers every sampled IPv6 range of the ASN file that spans whole /64s', () => {
    const rows = sample(join(ASN_DIR, 'asn-ipv6.csv'), 499).filter(wholeSixtyFours);
    expect(rows.length).toBeGreaterThan(150);
    for (const [start = '', , asn, org] of rows) {
      expect(lookup(table, start), start).toMatchObject({ asn: Number(asn), org });
    }
  });

  it('answers every sampled country range of both families', () => {
    for (const v of [4, 6]) {
      const rows = sample(join(COUNTRY_DIR, `geo-whois-asn-country-ipv${v}.csv`), 997).filter(wholeSixtyFours);
      expect(rows.length).toBeGreaterThan(200);
      for (const [start = '', , country] of rows) {
        expect(lookup(table, start).country, start).toBe(country);
      }
    }
  });

  it('reads the same table from bytes that sit at an unaligned offset (it copies them then)', () => {
    const bytes = gunzipSync(readFileSync(compiledHoldersFile()));
    const shifted = new Uint8Array(bytes.length + 4);
    shifted.set(bytes, 4);
    const copy = decodeHolders(shifted.subarray(4));
    for (const address of ['2.58.100.7', '2001:678:36c::9', '3.5.140.2']) {
      expect(lookup(copy, address)).toEqual(lookup(table, address));
    }
  });

  it('knows nothing of addresses no one holds', () => {
    expect(lookup(table, '0.0.0.1')).toEqual({ asn: null, org: null, country: null, kind: null });
    expect(lookup(table, 'ffff::1')).toEqual({ asn: null, org: null, country: null, kind: null });
  });

  it("dates the data by the packages' versions", () => {
    const version = (JSON.parse(readFileSync(join(ASN_DIR, 'package.json'), 'utf8')) as { version: string }).version;
    expect(datasetDate('2.3.2026061719')).toBe('2026-06-17');
    expect(() => datasetDate('2.3.0')).toThrow(/date/);
    expect(table.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(table.date <= datasetDate(version)).toBe(true);
  });
});

/** The holder each listed AS has in the dataset, as the list's comments name it. */
const LISTED_HOLDERS = new Map<number, string>([
  [16509, 'Amazon.com, Inc.'],
  [14618, 'Amazon.com, Inc.'],
  [8075, 'Microsoft Corporation'],
  [396982, 'Google LLC'],
  [31898, 'Oracle Corporation'],
  [14061, 'DigitalOcean, LLC'],
  [24940, 'Hetzner Online GmbH'],
  [16276, 'OVH SAS'],
  [63949, 'Akamai Technologies, Inc.'],
  [20473, 'The Constant Company, LLC'],
  [12876, 'Scaleway SAS'],
  [51167, 'Contabo GmbH'],
  [45102, 'Alibaba (US) Technology Co., Ltd.'],
  [132203, 'Shenzhen Tencent Computer Systems Company Limited'],
  [9009, 'M247 Europe SRL'],
  [60068, 'Datacamp Limited'],
  [212238, 'Datacamp Limited'],
  [39351, '31173 Services AB'],
  [62371, 'Proton AG'],
  [209103, 'Proton AG'],
  [36183, 'Akamai Technologies, Inc.'],
  [13335, 'Cloudflare, Inc.'],
  [54113, 'Fastly, Inc.'],
]);

describe('the documented list of hosting, VPN and relay networks', () => {
  it('names each AS as the shipped dataset does', () => {
    expect([...HOSTING_NETWORKS.keys()].sort()).toEqual([...LISTED_HOLDERS.keys()].sort());
    const orgs = new Map<number, Set<string>>();
    for (const [, , asn = '', org = ''] of sample(join(ASN_DIR, 'asn-ipv4.csv'), 1)) {
      const n = Number(asn);
      if (HOSTING_NETWORKS.has(n)) orgs.set(n, (orgs.get(n) ?? new Set()).add(org));
    }
    for (const [asn, holder] of LISTED_HOLDERS) expect(orgs.get(asn), `AS${asn}`).toContain(holder);
  });

  it('notes a listed holder and no other', () => {
    const amazon = lookup(table, '3.5.140.2');
    expect(holderNote({ ...amazon, networkKind: amazon.kind })).toBe(
      'This address belongs to Amazon.com, Inc., a hosting or cloud network: if that is not your ISP, the check reached that network, not your router.',
    );
    const telekom = lookup(table, '2.58.100.7');
    expect(holderNote({ ...telekom, networkKind: telekom.kind })).toBeUndefined();
    expect(holderLine(telekom)).toBe('AS3320 Deutsche Telekom AG · DE');
    expect(holderLine({ asn: null, org: null, country: null })).toBeUndefined();
  });
});
