/**
 * The local server most end-to-end test files start: on loopback, quiet, and with every
 * response it sends checked against the OpenAPI document, so a browser or CLI test also proves
 * the document describes what it saw.
 */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { type LocalApp, startLocalApp } from '../../infra/local/app.ts';
import { type SpecRecorder, specFor, specRecorder } from './openapi.ts';

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
  const recorder = specRecorder(specFor(env));
  let app: LocalApp | undefined;
  beforeAll(async () => {
    app = await startLocalApp({
      env,
      host: '127.0.0.1',
      port: 0,
      allowNonPublic: false,
      log: () => undefined,
      observe: recorder.observe,
    });
  });
  afterAll(async () => {
    await app?.close();
  });
  afterEach(() => {
    expect(recorder.mismatches()).toEqual([]);
  });
  const started = (): LocalApp => {
    if (app === undefined) throw new Error('the local app is read before its beforeAll ran');
    return app;
  };
  return {
    recorder,
    get url() {
      return started().url;
    },
    get endpoints() {
      return started().endpoints;
    },
    get port() {
      return started().port;
    },
    get tableEndpoint() {
      return started().tableEndpoint;
    },
    get policy() {
      return started().policy;
    },
    close: () => started().close(),
  };
}
