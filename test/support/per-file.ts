/**
 * Set-up that lives as long as one test file, registered from module scope: started in a
 * `beforeAll` (before the file's own hooks that follow the call), torn down in an `afterAll`,
 * and read through a getter that says so when something reads it too early.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { HttpResponse } from '../../functions/api/http.ts';
import { type SpecRecorder, specFor, specRecorder } from './openapi.ts';

/** Starts `start()` for the calling file and `stop`s it after; returns its getter. */
export function forFile<T>(what: string, start: () => Promise<T>, stop: (value: T) => Promise<void>): () => T {
  let value: T | undefined;
  beforeAll(async () => {
    value = await start();
  });
  afterAll(async () => {
    if (value !== undefined) await stop(value);
  });
  return () => {
    if (value === undefined) throw new Error(`${what} is read before its beforeAll ran`);
    return value;
  };
}

/** Sees each event a local server handles and its response. */
export type Observe = (event: APIGatewayProxyEventV2, response: HttpResponse) => void;

/**
 * `forFile` for local servers whose every response is held to the OpenAPI document for `env`:
 * a test after which one strayed fails. `start` gets the observer to pass to the servers.
 */
export function documentedForFile<T extends { close(): Promise<void> }>(
  what: string,
  env: Readonly<Record<string, string>>,
  start: (observe: Observe) => Promise<T>,
): { readonly recorder: SpecRecorder; readonly current: () => T } {
  const recorder = specRecorder(specFor(env));
  const current = forFile(
    what,
    () => start(recorder.observe),
    (value) => value.close(),
  );
  afterEach(() => {
    expect(recorder.mismatches()).toEqual([]);
  });
  return { recorder, current };
}
