/**
 * Compiles the IP-to-network dataset into the compact file `functions/core/network-holder.ts`
 * reads (`HOLDERS_FILE`): at bundle time for Lambda (beside the bundle, like the served code),
 * on first use for the local server and the tests. Two packages by the same maintainer, both
 * refreshed from the registries' public data, both covering IPv4 and IPv6:
 * - `@ip-location-db/asn`: range → AS number and holder (RouteViews, the five RIRs via the NRO,
 *   and DB-IP's IP to ASN Lite for names; CC BY 4.0, attribution shown on the page);
 * - `@ip-location-db/geo-whois-asn-country`: range → country (geofeeds, then whois, then the
 *   AS's registration; CC0 package, NRO data CC BY 4.0).
 * A deployment may give the same four files from a directory instead (`holdersFromDirectory`):
 * the packages are no longer refreshed, and the maintainer's releases are.
 * Their CSV rows are merged into one list of range starts per family; runs of identical rows
 * are folded, so a lookup is one binary search over one column.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  align8,
  decodeHolders,
  type HolderSource,
  type HoldersHeader,
  type HolderTable,
  NONE,
} from '../core/network-holder.ts';

const require = createRequire(import.meta.url);

/** Changes whenever the file's layout does, so a cached file of an older layout is not read. */
const FORMAT = 'v1';

/** The two packages and their files. */
const ASN_PACKAGE = '@ip-location-db/asn';
const COUNTRY_PACKAGE = '@ip-location-db/geo-whois-asn-country';

/** One inclusive range and its value's index. */
interface Range {
  readonly start: bigint;
  readonly end: bigint;
  readonly value: number;
}

function packageDir(name: string): string {
  return dirname(require.resolve(`${name}/package.json`));
}

/** `2.3.2026061719` → `2026-06-17`: the packages put the data's date and hour in the version. */
export function datasetDate(version: string): string {
  const match = /^\d+\.\d+\.(\d{4})(\d{2})(\d{2})\d{2}$/.exec(version);
  if (match === null) throw new Error(`Cannot read a date from the dataset version ${version}`);
  return `${match[1]}-${match[2]}-${match[3]}`;
}

/** Where the dataset's CSV files are read from, and what identifies that data. */
export interface HoldersOrigin {
  /** The AS files, `asn-ipv4-num.csv` and `asn-ipv6-num.csv`. */
  readonly asnFile: (family: 4 | 6) => string;
  /** The country files, `geo-whois-asn-country-ipv4-num.csv` and `…-ipv6-num.csv`. */
  readonly countryFile: (family: 4 | 6) => string;
  /** The data's date, `YYYY-MM-DD`. */
  readonly date: string;
  /** Changes whenever the data does: the compiled file's cache key. */
  readonly version: string;
}

const asnName = (family: 4 | 6): string => `asn-ipv${family}-num.csv`;
const countryName = (family: 4 | 6): string => `geo-whois-asn-country-ipv${family}-num.csv`;

/** Thrown for dataset files that are missing or not in the packages' layout; the message names them. */
export class HoldersDataError extends Error {
  override readonly name = 'HoldersDataError';
}

/** The installed npm packages' files; their date is the older of the two packages' versions. */
export function packagedHolders(): HoldersOrigin {
  const versions = [ASN_PACKAGE, COUNTRY_PACKAGE].map(
    (name) => (JSON.parse(readFileSync(join(packageDir(name), 'package.json'), 'utf8')) as { version: string }).version,
  );
  return {
    asnFile: (family) => join(packageDir(ASN_PACKAGE), asnName(family)),
    countryFile: (family) => join(packageDir(COUNTRY_PACKAGE), countryName(family)),
    date: versions.map(datasetDate).sort()[0] ?? '',
    version: versions.join('+'),
  };
}

/**
 * The same four CSV files in one directory, as the dataset's maintainer publishes them daily
 * beside the npm packages (which are no longer refreshed): fresher data for a deployment.
 * The date is the oldest file's modification day, which `curl -R` sets to the server's.
 */
export function holdersFromDirectory(dir: string): HoldersOrigin {
  const names = ([4, 6] as const).flatMap((f) => [asnName(f), countryName(f)]);
  const stats = names.map((name) => {
    try {
      return statSync(join(dir, name));
    } catch {
      return undefined;
    }
  });
  const missing = names.filter((_, i) => !stats[i]?.isFile());
  if (missing.length > 0) {
    throw new HoldersDataError(`${dir} lacks ${missing.join(', ')} (the IP-to-network dataset's CSV files)`);
  }
  const present = stats.filter((st) => st !== undefined);
  const oldest = Math.min(...present.map((st) => st.mtimeMs));
  const fingerprint = createHash('sha256')
    .update(JSON.stringify([resolve(dir), present.map((st) => [st.size, st.mtimeMs])]))
    .digest('hex')
    .slice(0, 16);
  return {
    asnFile: (family) => join(dir, asnName(family)),
    countryFile: (family) => join(dir, countryName(family)),
    date: new Date(oldest).toISOString().slice(0, 10),
    version: `dir-${fingerprint}`,
  };
}

/** The fields of a CSV row of the `-num` files: numbers first, a last field that may be quoted. */
function fields(line: string, count: number): string[] {
  const out: string[] = [];
  let rest = line;
  for (let i = 1; i < count; i++) {
    const comma = rest.indexOf(',');
    out.push(rest.slice(0, comma));
    rest = rest.slice(comma + 1);
  }
  out.push(rest.startsWith('"') ? rest.slice(1, -1).replaceAll('""', '"') : rest);
  return out;
}

/** What one file's rows must hold: `count` fields, the third matching `value` (`label` in messages), ranges within `max`. */
interface RowShape {
  readonly count: number;
  readonly value: RegExp;
  readonly label: string;
  readonly max: bigint;
}

/**
 * Reads `file`'s rows as ranges; `intern` gives each row's value an index. A row of another
 * shape stops the build, naming the file and line: data from a directory (`holdersFromDirectory`)
 * may come in a layout this compiler does not know, and must not deploy as wrong answers.
 */
function readRanges(file: string, shape: RowShape, intern: (row: string[]) => number): Range[] {
  const ranges: Range[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line === '') return;
      const row = fields(line, shape.count);
      const [start = '', end = '', value = ''] = row;
      const range = /^\d+$/.test(start) && /^\d+$/.test(end) ? { start: BigInt(start), end: BigInt(end) } : undefined;
      if (range === undefined || !shape.value.test(value) || range.start > range.end || range.end > shape.max) {
        throw new HoldersDataError(`${file}:${i + 1}: not a row of start,end,${shape.label}: ${line.slice(0, 80)}`);
      }
      ranges.push({ ...range, value: intern(row) });
    });
  // By start, and the widest first among ranges that start together (see `merge`).
  return ranges.sort((a, b) =>
    a.start !== b.start ? (a.start < b.start ? -1 : 1) : a.end > b.end ? -1 : a.end < b.end ? 1 : 0,
  );
}

/** What covers each start of `a` and `b` merged: the starts, and each list's value from there (`NONE` in a gap). */
function merge(
  a: readonly Range[],
  b: readonly Range[],
  shift: bigint,
  limit: bigint,
): { starts: bigint[]; a: number[]; b: number[] } {
  const points = new Set<bigint>();
  for (const list of [a, b]) for (const r of list) points.add(r.start >> shift).add((r.end + 1n) >> shift);
  // The end of the last range plus one is past the family's last address: no row starts there.
  points.delete(limit);
  const starts = [...points].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  // The files nest ranges (a /22 to one country, a /24 inside it to another): the narrowest
  // range that covers a point wins. Ranges come widest first for a start, so the narrowest is on top.
  const cover = (list: readonly Range[]): number[] => {
    let i = 0;
    const open: Range[] = [];
    return starts.map((p) => {
      for (let r = list[i]; r !== undefined && r.start >> shift <= p; r = list[++i]) open.push(r);
      for (let top = open.at(-1); top !== undefined && top.end >> shift < p; top = open.at(-1)) open.pop();
      return open.at(-1)?.value ?? NONE;
    });
  };
  const va = cover(a);
  const vb = cover(b);
  // Fold runs: a start whose values equal the previous row's adds nothing.
  const out = { starts: [0n], a: [NONE], b: [NONE] };
  starts.forEach((p, i) => {
    const x = va[i] ?? NONE;
    const y = vb[i] ?? NONE;
    if (x === out.a.at(-1) && y === out.b.at(-1)) return;
    if (p === out.starts.at(-1)) {
      out.a[out.a.length - 1] = x;
      out.b[out.b.length - 1] = y;
    } else {
      out.starts.push(p);
      out.a.push(x);
      out.b.push(y);
    }
  });
  return out;
}

const lastAddress = (family: 4 | 6): bigint => (1n << (family === 4 ? 32n : 128n)) - 1n;

/** Compiles the dataset into `HOLDERS_FILE`'s bytes, before gzip. */
export function compileHolders(origin: HoldersOrigin = packagedHolders()): Uint8Array {
  const holders: Array<[number, string]> = [];
  const holderIndex = new Map<string, number>();
  const countries: string[] = [];
  const countryIndex = new Map<string, number>();
  const internHolder = (row: string[]): number => {
    const key = `${row[2]},${row[3]}`;
    let i = holderIndex.get(key);
    if (i === undefined) {
      i = holders.push([Number(row[2]), row[3] ?? '']) - 1;
      holderIndex.set(key, i);
    }
    return i;
  };
  const internCountry = (row: string[]): number => {
    const code = (row[2] ?? '').toUpperCase();
    let i = countryIndex.get(code);
    if (i === undefined) {
      i = countries.push(code) - 1;
      countryIndex.set(code, i);
    }
    return i;
  };
  const family = (v: 4 | 6, shift: bigint) =>
    merge(
      readRanges(origin.asnFile(v), { count: 4, value: /^\d+$/, label: 'asn,org', max: lastAddress(v) }, internHolder),
      readRanges(
        origin.countryFile(v),
        { count: 3, value: /^[A-Za-z]{2}$/, label: 'country', max: lastAddress(v) },
        internCountry,
      ),
      shift,
      (lastAddress(v) + 1n) >> shift,
    );
  // IPv4 keeps all 32 bits; IPv6 its upper 64 (network-holder.ts says why).
  const v4 = family(4, 0n);
  const v6 = family(6, 64n);
  const header: HoldersHeader = {
    date: origin.date,
    holders,
    countries,
    v4: v4.starts.length,
    v6: v6.starts.length,
  };
  return encode(header, v4, v6);
}

/** The file's layout: header length, header JSON, then the 8-byte-aligned columns decodeHolders reads. */
function encode(header: HoldersHeader, v4: ReturnType<typeof merge>, v6: ReturnType<typeof merge>): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const columns: Uint8Array[] = [
    new Uint8Array(Uint32Array.from(v4.starts, Number).buffer),
    new Uint8Array(Uint32Array.from(v4.a).buffer),
    new Uint8Array(Uint32Array.from(v4.b).buffer),
    new Uint8Array(BigUint64Array.from(v6.starts).buffer),
    new Uint8Array(Uint32Array.from(v6.a).buffer),
    new Uint8Array(Uint32Array.from(v6.b).buffer),
  ];
  const bodyStart = align8(4 + json.length);
  const size = columns.reduce((n, c) => align8(n + c.length), bodyStart);
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  let offset = bodyStart;
  for (const column of columns) {
    out.set(column, offset);
    offset = align8(offset + column.length);
  }
  return out;
}

/**
 * `compileHolders()` gzip-compressed, as written beside the Lambda bundle. Compiling takes
 * seconds, and every synth (each infra test) asks for it, so the result is kept in
 * `node_modules/.cache/dialback/` under the origin's version: new data compiles anew.
 */
export function compiledHoldersFile(origin: HoldersOrigin = packagedHolders()): string {
  const cache = fileURLToPath(new URL('../../node_modules/.cache/dialback/', import.meta.url));
  const file = join(cache, `holders-${origin.version}-${FORMAT}.bin.gz`);
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    // Written under a temporary name first: parallel test workers may compile at the same time.
    const partial = `${file}.${process.pid}`;
    writeFileSync(partial, gzipSync(compileHolders(origin), { level: 9 }));
    renameSync(partial, file);
  }
  return file;
}

/** The table for the local server and tests, compiled (or taken from the cache) on first use. */
export function localHolders(origin?: HoldersOrigin): HolderSource {
  let table: HolderTable | undefined;
  return async () => {
    table ??= decodeHolders(gunzipSync(readFileSync(compiledHoldersFile(origin))));
    return table;
  };
}
