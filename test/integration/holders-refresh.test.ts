/**
 * A deployment can carry newer IP-to-network data than the npm packages': the same four CSV
 * files in a directory (`-c holdersDir=…` for the stack, `DIALBACK_HOLDERS_DIR` for the built
 * server). The fixture's rows are documentation ranges with made-up holders, so an answer can
 * only have come from the directory.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import {
  compiledHoldersFile,
  compileHolders,
  HoldersDataError,
  holdersFromDirectory,
} from '../../functions/build/holders-data.ts';
import { writeBundledAssets } from '../../functions/build/served-code.ts';
import { classifyAddress } from '../../functions/contract/address.ts';
import { decodeHolders, HOLDERS_FILE, type HolderTable } from '../../functions/core/network-holder.ts';

const FIXTURE = new URL('../fixtures/holders-dir/', import.meta.url).pathname;

function lookup(table: HolderTable, address: string) {
  const source = classifyAddress(address);
  if (source === undefined) throw new Error(`not an address: ${address}`);
  return table.lookup(source);
}

describe('IP-to-network data from a directory', () => {
  const dirs: string[] = [];
  /** The fixture copied to a directory of its own, the files dated as given (or all today). */
  const copy = (dates: Readonly<Record<string, string>> = {}): string => {
    const dir = mkdtempSync(join(os.tmpdir(), 'dialback-holders-'));
    dirs.push(dir);
    for (const name of readdirSync(FIXTURE)) {
      copyFileSync(join(FIXTURE, name), join(dir, name));
      const when = dates[name];
      if (when !== undefined) utimesSync(join(dir, name), new Date(when), new Date(when));
    }
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("answers from the directory's files in both families, dated by the oldest file", () => {
    const dir = copy({
      'asn-ipv4-num.csv': '2026-12-02T10:00:00Z',
      'asn-ipv6-num.csv': '2026-12-02T10:00:00Z',
      'geo-whois-asn-country-ipv4-num.csv': '2026-11-30T23:00:00Z',
      'geo-whois-asn-country-ipv6-num.csv': '2026-12-01T08:00:00Z',
    });
    const origin = holdersFromDirectory(dir);
    expect(origin.date).toBe('2026-11-30');
    const table = decodeHolders(compileHolders(origin));
    expect(table.date).toBe('2026-11-30');
    expect(lookup(table, '203.0.113.9')).toEqual({
      asn: 64500,
      org: 'Example Fresh Data, Inc.',
      country: 'NZ',
      kind: null,
    });
    expect(lookup(table, '2001:db8:5::1')).toEqual({
      asn: 64501,
      org: 'Example Six Networks',
      country: 'IS',
      kind: null,
    });
    expect(lookup(table, '198.51.100.1')).toEqual({ asn: null, org: null, country: null, kind: null });
  });

  it('names every file a directory lacks', () => {
    const dir = copy();
    rmSync(join(dir, 'asn-ipv6-num.csv'));
    rmSync(join(dir, 'geo-whois-asn-country-ipv4-num.csv'));
    expect(() => holdersFromDirectory(dir)).toThrow(HoldersDataError);
    expect(() => holdersFromDirectory(dir)).toThrow(
      `${dir} lacks geo-whois-asn-country-ipv4-num.csv, asn-ipv6-num.csv (the IP-to-network dataset's CSV files)`,
    );
    expect(() => holdersFromDirectory(join(dir, 'nowhere'))).toThrow(/lacks asn-ipv4-num\.csv, /);
  });

  it.each([
    ['asn-ipv4-num.csv', '3405803776,3405804031,AS64500,Example', /asn-ipv4-num\.csv:2: not a row of start,end,/],
    ['geo-whois-asn-country-ipv4-num.csv', '3405803776,3405804031,NZL', /country-ipv4-num\.csv:2: /],
    ['geo-whois-asn-country-ipv6-num.csv', '2001:db8::,2001:db8::ffff,IS', /country-ipv6-num\.csv:2: /],
    ['asn-ipv4-num.csv', '3405804031,3405803776,64500,Backwards', /asn-ipv4-num\.csv:2: /],
    ['asn-ipv4-num.csv', '4294967295,4294967296,64500,Past the end', /asn-ipv4-num\.csv:2: /],
  ])('refuses to compile %s with a row in another layout: %s', (name, row, message) => {
    const dir = copy();
    writeFileSync(join(dir, name), `${readFileSync(join(dir, name), 'utf8')}${row}\n`);
    expect(() => compileHolders(holdersFromDirectory(dir))).toThrow(HoldersDataError);
    expect(() => compileHolders(holdersFromDirectory(dir))).toThrow(message);
  });

  it('compiles anew when a file changes, not from the cache of the older data', () => {
    const dir = copy();
    const before = holdersFromDirectory(dir);
    const first = decodeHolders(gunzipSync(readFileSync(compiledHoldersFile(before))));
    expect(lookup(first, '203.0.113.9').org).toBe('Example Fresh Data, Inc.');
    const file = join(dir, 'asn-ipv4-num.csv');
    writeFileSync(file, readFileSync(file, 'utf8').replace('Example Fresh Data, Inc.', 'Renamed Holder Ltd'));
    const after = holdersFromDirectory(dir);
    expect(after.version).not.toBe(before.version);
    const second = decodeHolders(gunzipSync(readFileSync(compiledHoldersFile(after))));
    expect(lookup(second, '203.0.113.9').org).toBe('Renamed Holder Ltd');
  });

  it('is what the bundle carries when given (what `-c holdersDir` and DIALBACK_HOLDERS_DIR pass)', () => {
    const out = copy();
    const assets = join(out, 'assets');
    const written = writeBundledAssets(assets, holdersFromDirectory(copy()));
    expect(written).toContain(join(assets, HOLDERS_FILE));
    const shipped = decodeHolders(gunzipSync(readFileSync(join(assets, HOLDERS_FILE))));
    expect(lookup(shipped, '2001:db8::77')).toMatchObject({ asn: 64501, country: 'IS' });
  });
});
