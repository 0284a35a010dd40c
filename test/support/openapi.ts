/**
 * The tests' side of the OpenAPI check (`infra/smoke/openapi-check.ts` holds the checker, which
 * the smoke test shares): the document a configuration serves, and `specRecorder(doc)`, an
 * `observe` hook for `startLocalApp({ observe })` that checks every response the app produces
 * during a test; assert `recorder.mismatches()` is empty.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { HttpResponse } from '../../functions/api/http.ts';
import { openApiDocument } from '../../functions/api/openapi/document.ts';
import { loadConfig } from '../../functions/core/config.ts';
import { checkAgainstSpec, type Json, type ObservedResponse } from '../../infra/smoke/openapi-check.ts';

export { checkAgainstSpec, expectDocumented, type ObservedResponse } from '../../infra/smoke/openapi-check.ts';

/** The document a handler built from `env` serves (what `/openapi.json` returns). */
export function specFor(env: Readonly<Record<string, string | undefined>> = {}): Json {
  return openApiDocument(loadConfig(env)) as Json;
}

/** A handler result as an `ObservedResponse`. */
export function fromHandler(response: HttpResponse): ObservedResponse {
  return {
    status: response.statusCode,
    headers: response.headers,
    body: response.isBase64Encoded ? Buffer.from(response.body, 'base64').toString('utf8') : response.body,
  };
}

/** Records and checks every response a local app produces. */
export interface SpecRecorder {
  /** Pass as `startLocalApp({ observe })`. */
  readonly observe: (event: APIGatewayProxyEventV2, response: HttpResponse) => void;
  /** How many responses were checked. */
  count(): number;
  /** Each distinct kind of response checked, as `GET /path?param 200 media/type`, in first-seen order. */
  seen(): string[];
  /** Every mismatch seen so far. */
  mismatches(): string[];
}

/** A recorder checking against `doc`. */
export function specRecorder(doc: Json): SpecRecorder {
  let count = 0;
  const mismatches: string[] = [];
  const seen = new Set<string>();
  return {
    observe: (event, response) => {
      count += 1;
      const type = Object.entries(response.headers).find(([name]) => name.toLowerCase() === 'content-type')?.[1];
      const query = [...new URLSearchParams(event.rawQueryString).keys()].join('&');
      const target = `${event.rawPath}${query === '' ? '' : `?${query}`}`;
      seen.add(`${event.requestContext.http.method} ${target} ${response.statusCode} ${type?.split(';')[0] ?? '-'}`);
      const url = `${event.rawPath}${event.rawQueryString ? `?${event.rawQueryString}` : ''}`;
      mismatches.push(...checkAgainstSpec(doc, event.requestContext.http.method, url, fromHandler(response)));
    },
    count: () => count,
    seen: () => [...seen],
    mismatches: () => [...mismatches],
  };
}
