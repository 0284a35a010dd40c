/**
 * The OpenAPI 3.1 description served at `GET /openapi.json`: every route, method, status,
 * header and body the function produces. Its paths are the router's routes (`ROUTES`), each with
 * the path item `operations.ts` keeps under the route's name; its limits are a deployment's. The
 * test suite validates every response it receives against it, so the document cannot drift from
 * the handler. Built at bundle time and served as a file (`limits.ts` says how).
 */
import { ROUTES } from '../routes.ts';
import { components, type Json } from './components.ts';
import type { OpenApiLimits } from './limits.ts';
import { PATH_ITEMS, withoutBodies } from './operations.ts';

/** An OpenAPI document: plain JSON. */
export type OpenApiDocument = Readonly<Json>;

/** The document for a deployment's limits. */
export function openApiDocument(limits: OpenApiLimits): OpenApiDocument {
  const doc: Json = {
    openapi: '3.1.0',
    info: {
      title: 'Dialback',
      version: '1.0.0',
      summary: 'An external TCP port checker that dials back to the caller, and only the caller.',
      description:
        "Every check connects back to the address the request came from (never any other) and reports Nmap's connect-scan states. " +
        `Each port checked counts against the caller's budget: ${limits.ratePerMinute} per minute and ${limits.ratePerDay} per day (per /64 on IPv6). ` +
        'Unknown paths answer 404 (`components.responses.NotFound`); methods other than GET, HEAD and OPTIONS, 405 (`MethodNotAllowed`). ' +
        "HEAD is answered wherever GET is, with the GET's status and headers and no body; on `/check` and on the page with `ports` or `udp`, HEAD validates the request but neither probes nor charges the budget. " +
        "Every response carries `Cache-Control: no-store`. No authentication: a check only ever touches the caller's own address.",
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/', description: 'The API that served this document' }],
    // Public by design: nothing to authenticate, since a caller can only check itself.
    security: [],
    tags: [
      { name: 'check', description: 'Port checks on your own address' },
      { name: 'web', description: 'The page, the widget and this document' },
      { name: 'cors', description: 'CORS preflight' },
    ],
    paths: Object.fromEntries(ROUTES.map((route) => [route.name, PATH_ITEMS[route.name](limits)])),
    components: components(limits),
  };
  withoutBodies(doc);
  return doc;
}
