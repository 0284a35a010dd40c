/**
 * Who holds an address: its network (ASN and organisation) and country, from an offline dataset
 * (the `@ip-location-db` packages, compiled by `functions/build/holders-data.ts` into
 * `HOLDERS_FILE`). No lookup service is called: nothing about a caller leaves the deployment.
 *
 * The table is one sorted list of range starts per family with, for each, the holder and the
 * country that hold from it up to the next start; a lookup is one binary search. IPv6 is kept
 * by its upper 64 bits (a /64 is the smallest network anyone routes or registers), so a start
 * costs 8 bytes, not 16. The file is read on first use, never at cold start, so a container
 * that only answers `/check` never reads it.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import ipaddr from 'ipaddr.js';
import type { NetworkKind } from '../contract/wire.ts';
import { hostingKind } from './hosting-networks.ts';
import type { SourceAddress } from './source-address.ts';

/** The compiled dataset's file name beside the Lambda bundle, gzip-compressed. */
export const HOLDERS_FILE = 'network-holders.bin.gz';

/** Marks a range no holder (or no country) is recorded for. */
export const NONE = 0xffff_ffff;

/** What the dataset says of one address. */
export interface NetworkHolder {
  /** The autonomous system announcing or registered for the address; `null` when none is recorded. */
  readonly asn: number | null;
  /** The AS's holder as the dataset names it, e.g. "Deutsche Telekom AG". */
  readonly org: string | null;
  /** ISO 3166-1 alpha-2, upper case. */
  readonly country: string | null;
  /** Set when the holder is on the documented list of hosting, VPN and relay networks. */
  readonly kind: NetworkKind | null;
}

/** The header of the compiled file: everything that is not a column of numbers. */
export interface HoldersHeader {
  /** The dataset's date, `YYYY-MM-DD` (the older of the two packages'). */
  readonly date: string;
  /** `[asn, org]` per holder index. */
  readonly holders: ReadonlyArray<readonly [number, string]>;
  /** Country codes per country index. */
  readonly countries: readonly string[];
  /** Rows per family. */
  readonly v4: number;
  readonly v6: number;
}

/** One family's columns: row i holds from `starts[i]` to the next start. */
interface Columns<T extends Uint32Array | BigUint64Array> {
  readonly starts: T;
  readonly holder: Uint32Array;
  readonly country: Uint32Array;
}

/** The loaded dataset. */
export interface HolderTable {
  /** The dataset's date, `YYYY-MM-DD`. */
  readonly date: string;
  /** What the dataset says of `source`. */
  readonly lookup: (source: SourceAddress) => NetworkHolder;
  /** Bytes held by the columns (the header's strings come on top), for the benchmark. */
  readonly columnBytes: number;
}

/** Loads the table on first use; `undefined` when the deployment has no dataset. */
export type HolderSource = () => Promise<HolderTable | undefined>;

/** Offsets are 8-byte aligned so the columns can be viewed, not copied. */
export function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** Index of the last start ≤ key, or -1. */
function lastAtOrBelow<K extends number | bigint>(starts: ArrayLike<K>, key: K): number {
  let lo = 0;
  let hi = starts.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if ((starts[mid] as K) <= key) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** The address as the column's key: IPv4 as an unsigned 32-bit number, IPv6 by its upper 64 bits. */
function keyOf(source: SourceAddress): number | bigint {
  const bytes = ipaddr.parse(source.address).toByteArray();
  if (source.family === 4) return bytes.reduce((n, b) => n * 256 + b, 0);
  return bytes.slice(0, 8).reduce((n, b) => (n << 8n) | BigInt(b), 0n);
}

/** Reads the compiled file's bytes (already gunzipped) into a table. */
export function decodeHolders(bytes: Uint8Array): HolderTable {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + headerLength))) as HoldersHeader;
  // The columns are views of the bytes where they are 8-byte aligned (gunzip's output is:
  // a large Buffer is not pooled), else of one aligned copy.
  const start = align8(4 + headerLength);
  const aligned = (bytes.byteOffset + start) % 8 === 0;
  const body = aligned ? bytes.subarray(start) : new Uint8Array(bytes.subarray(start));
  let offset = 0;
  const take = <T>(make: (buffer: ArrayBuffer, at: number, n: number) => T, n: number, size: number): T => {
    const column = make(body.buffer as ArrayBuffer, body.byteOffset + offset, n);
    offset = align8(offset + n * size);
    return column;
  };
  const u32 = (b: ArrayBuffer, at: number, n: number): Uint32Array => new Uint32Array(b, at, n);
  const v4: Columns<Uint32Array> = {
    starts: take(u32, header.v4, 4),
    holder: take(u32, header.v4, 4),
    country: take(u32, header.v4, 4),
  };
  const v6: Columns<BigUint64Array> = {
    starts: take((b, at, n) => new BigUint64Array(b, at, n), header.v6, 8),
    holder: take(u32, header.v6, 4),
    country: take(u32, header.v6, 4),
  };
  const row = (columns: Columns<Uint32Array | BigUint64Array>, key: number | bigint): NetworkHolder => {
    const i = lastAtOrBelow<number | bigint>(columns.starts, key);
    const h = i < 0 ? NONE : (columns.holder[i] ?? NONE);
    const c = i < 0 ? NONE : (columns.country[i] ?? NONE);
    const [asn, org] = header.holders[h] ?? [null, null];
    return { asn, org, country: header.countries[c] ?? null, kind: asn === null ? null : hostingKind(asn) };
  };
  return {
    date: header.date,
    lookup: (source) => (source.family === 4 ? row(v4, keyOf(source)) : row(v6, keyOf(source))),
    columnBytes: offset,
  };
}

/**
 * The dataset written beside this (bundled) module, read and decoded on first use: `undefined`
 * when the bundle was built without it. A failed read is not remembered, so the next call retries.
 */
export function bundledHolders(url: URL = new URL(`./${HOLDERS_FILE}`, import.meta.url)): HolderSource {
  let loaded: Promise<HolderTable | undefined> | undefined;
  return () => {
    loaded ??= readFile(url).then(
      (gz) => decodeHolders(gunzipSync(gz)),
      (error: NodeJS.ErrnoException) => {
        loaded = undefined;
        if (error.code === 'ENOENT') return undefined;
        throw error;
      },
    );
    return loaded;
  };
}
