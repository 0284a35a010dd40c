/**
 * The `--api` argument: a URL, or just `host:port`. Without a scheme, loopback and private
 * addresses (a local server, `npm start`, which speaks plain http) get `http://`; anything else
 * gets `https://`, which every deployed API speaks.
 */
import { isIP } from 'node:net';
import { isPublicAddress } from '../contract/address.ts';
import { UsageError } from './explain.ts';

/** The host of an API URL without IPv6 brackets. */
export function apiHost(api: string): string {
  return new URL(api).hostname.replace(/^\[|\]$/g, '');
}

/** The API's base URL, scheme added when missing; throws `UsageError` for anything else. */
export function normalizeApi(raw: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') {
    throw new UsageError(`--api must be an http or https URL, got "${raw}".`);
  }
  let url: URL;
  try {
    url = new URL(scheme === undefined ? `http://${raw}` : raw);
  } catch {
    throw new UsageError(`--api must be a URL like https://api.example or 127.0.0.1:8787, got "${raw}".`);
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new UsageError(`--api is the API's base URL, without a query, fragment or credentials; got "${raw}".`);
  }
  // A route's path is the CLI's to add: "--api host/check" would ask for /check/check/22.
  const route = /\/(check|ip|regions|openapi\.json|widget\.js|dialback\.mjs)(\/.*)?$/.exec(url.pathname);
  if (route !== null) {
    throw new UsageError(
      `--api is the API's base URL, without a route: drop "${route[0]}" from "${raw}" (dialback adds /check/PORT itself).`,
    );
  }
  if (scheme === undefined) {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const local = host === 'localhost' || (isIP(host) !== 0 && !isPublicAddress(host));
    url.protocol = local ? 'http:' : 'https:';
  }
  return url.href.replace(/\/+$/, '');
}

/**
 * Why `family` cannot be asked of this API, or `undefined` when it can: an API given by an IP
 * literal is reachable over that literal's family only, so the check would dial the other.
 */
export function familyRefusal(api: string, family: 4 | 6): string | undefined {
  const literal = isIP(apiHost(api));
  if (literal === 0 || literal === family) return undefined;
  return `-${family} asks for an IPv${family} check, but the API ${apiHost(api)} is an IPv${literal} address, which can only be reached over IPv${literal}. Give the API by a host name that has an IPv${family} address, or drop -${family}.`;
}
