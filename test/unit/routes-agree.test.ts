/**
 * A route is written once, in the router (functions/api/routes.ts): the OpenAPI document and
 * API Gateway's routes must name exactly its paths. API Gateway's list used to be written by
 * hand and lacked /check/udp/{port} and /dialback.mjs, which worked only because `$default`
 * caught them.
 */
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../functions/api/openapi/document.ts';
import { ROUTES } from '../../functions/api/routes.ts';
import { loadConfig } from '../../functions/core/config.ts';
import { API_PATHS } from '../../infra/aws/public-api.ts';

const routerPaths = ROUTES.map((r) => r.name).sort();

describe('routes', () => {
  it('are the OpenAPI document’s paths, no more and no fewer', () => {
    const doc = openApiDocument(loadConfig({})) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).sort()).toEqual(routerPaths);
  });

  it('are API Gateway’s routes, the UDP check and the standalone CLI among them', () => {
    expect([...API_PATHS].sort()).toEqual(routerPaths);
    expect(API_PATHS).toEqual(expect.arrayContaining(['/check/udp/{port}', '/dialback.mjs']));
  });

  it('match their own names: each path, with a sample port, is matched by its own route and no other', () => {
    for (const route of ROUTES) {
      const path = route.name.replace('{port}', '443');
      expect(
        ROUTES.filter((r) => r.pattern.test(path)).map((r) => r.name),
        path,
      ).toEqual([route.name]);
    }
  });
});
