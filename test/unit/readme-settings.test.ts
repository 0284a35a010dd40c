/**
 * The README as a deployer follows it: its configuration table names every variable the
 * service reads, and its `ApiUrl` placeholder has the shape the deploy prints, so pasting the
 * printed value over it gives a working URL.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/core/config.ts';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** Every variable `loadConfig` looks at, found by handing it an environment that records reads. */
function variablesRead(): string[] {
  const read = new Set<string>();
  const recorder = new Proxy<Record<string, string | undefined>>(
    {},
    {
      get: (_target, name) => {
        if (typeof name === 'string') read.add(name);
        return undefined;
      },
    },
  );
  loadConfig(recorder);
  return [...read];
}

describe('README', () => {
  it('lists every variable the service reads in its configuration table', () => {
    const section = README.slice(README.indexOf('\n## Configuration\n'));
    const table = section.slice(0, section.indexOf('\n## ', 1));
    // AWS_REGION is Lambda's own, set by the runtime, not a setting of ours.
    const ours = variablesRead().filter((name) => name !== 'AWS_REGION');
    expect(ours).toContain('API_URL_DUAL_STACK');
    const missing = ours.filter(
      (name) => !new RegExp(`^\\| \`${name}\``, 'm').test(table) && !table.includes(`/ \`${name}\``),
    );
    expect(missing).toEqual([]);
  });

  it('writes the ApiUrl placeholder as the deploy prints it: scheme and final slash included', () => {
    // The stack's ApiUrl output is the stage URL, `https://….amazonaws.com/`.
    const uses = [...README.matchAll(/\S*YOUR-API\S*/g)].map(([use]) => use);
    expect(uses.length).toBeGreaterThan(5);
    const misshapen = uses.filter((use) => !use.includes('https://YOUR-API/'));
    expect(misshapen).toEqual([]);
  });
});
