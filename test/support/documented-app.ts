/**
 * The local server most end-to-end test files start: on loopback, quiet, and with every
 * response it sends checked against the OpenAPI document, so a browser or CLI test also proves
 * the document describes what it saw.
 */
import { type LocalApp, startLocalApp } from '../../infra/local/app.ts';
import type { SpecRecorder } from './openapi.ts';
import { documentedForFile } from './per-file.ts';

/** A local app and the recorder that checks its responses. */
export interface DocumentedApp extends LocalApp {
  readonly recorder: SpecRecorder;
}

/**
 * Registers, in the calling test file, a local app with `env` (call it at module scope, before
 * the file's own `beforeAll`, so those hooks can use it): started before the file's tests,
 * closed after them, and failing each test after which a response strayed from the document.
 * Read its fields in hooks and tests; it closes itself.
 */
export function documentedAppForFile(env: Readonly<Record<string, string>>): DocumentedApp {
  const { recorder, current } = documentedForFile('the local app', env, (observe) =>
    startLocalApp({ env, host: '127.0.0.1', port: 0, allowNonPublic: false, log: () => undefined, observe }),
  );
  return {
    recorder,
    get url() {
      return current().url;
    },
    get endpoints() {
      return current().endpoints;
    },
    get port() {
      return current().port;
    },
    get tableEndpoint() {
      return current().tableEndpoint;
    },
    get policy() {
      return current().policy;
    },
    close: () => current().close(),
  };
}
