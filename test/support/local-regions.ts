/**
 * Three regions on loopback for the tests of checks from several regions: `region-a`, a primary whose REGIONS lists
 * all three, `region-b`, a second local server, and `region-c`, a URL nothing serves (a region
 * that does not answer). On loopback every region sees the same ports; the lab makes them differ.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { HttpResponse } from '../../functions/api/http.ts';
import { formatRegions } from '../../functions/core/config.ts';
import { type LocalApp, startLocalApp } from '../../infra/local/app.ts';
import type { SpecRecorder } from './openapi.ts';
import { documentedForFile } from './per-file.ts';
import { releasedPort } from './ports.ts';

/** The running regions. */
export interface LocalRegions {
  readonly primary: LocalApp;
  readonly second: LocalApp;
  /** region-c's API URL: a released port on loopback, so connections are refused. */
  readonly deadUrl: string;
  close(): Promise<void>;
}

/** Starts region-b, then region-a listing a, b and c; `env` goes to both. */
export async function startLocalRegions(
  env: Readonly<Record<string, string>>,
  observe: (event: APIGatewayProxyEventV2, response: HttpResponse) => void,
): Promise<LocalRegions> {
  const quiet = { host: '127.0.0.1', allowNonPublic: false, log: () => undefined, observe } as const;
  const second = await startLocalApp({ ...quiet, port: 0, env: { ...env, CHECKED_FROM: 'region-b' } });
  try {
    const deadUrl = `http://127.0.0.1:${await releasedPort()}`;
    const port = await releasedPort();
    const regions = formatRegions([
      { name: 'region-a', api: `http://127.0.0.1:${port}` },
      { name: 'region-b', api: second.url },
      { name: 'region-c', api: deadUrl },
    ]);
    const primary = await startLocalApp({
      ...quiet,
      port,
      env: { ...env, CHECKED_FROM: 'region-a', REGIONS: regions },
    });
    return {
      primary,
      second,
      deadUrl,
      close: async () => {
        await primary.close();
        await second.close();
      },
    };
  } catch (error) {
    await second.close();
    throw error;
  }
}

/** The three regions of one test file and the recorder that checks their responses. */
export interface FileRegions extends Omit<LocalRegions, 'close'> {
  readonly recorder: SpecRecorder;
}

/**
 * Registers the three regions in the calling test file (call it at module scope, before the
 * file's own `beforeAll`): started before its tests, closed after them, every response held
 * to the OpenAPI document for `env` after each test. Read its fields in hooks and tests.
 */
export function localRegionsForFile(env: Readonly<Record<string, string>>): FileRegions {
  const { recorder, current } = documentedForFile('the regions', env, (observe) => startLocalRegions(env, observe));
  return {
    recorder,
    get primary() {
      return current().primary;
    },
    get second() {
      return current().second;
    },
    get deadUrl() {
      return current().deadUrl;
    },
  };
}
