/**
 * The layers of DESIGN §6, read from the import statements: contract/ at the bottom importing
 * nothing of ours, core/ on it, the views, the client and the CLI on contract/ and client/ only
 * (so a change in the probe cannot reach the page except through the contract), and no import
 * cycle anywhere in the code that ships or hosts it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type ImportGraph, importCycles, importGraph, importSpecifiers } from '../support/import-graph.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What each folder under functions/ may import from (itself always included). */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  contract: [],
  client: ['contract'],
  web: ['contract', 'client'],
  cli: ['contract', 'client'],
};

function layerOf(file: string): string | undefined {
  return /^functions\/([^/]+)\//.exec(file)?.[1];
}

/** Every import that crosses out of its layer into one the table above does not allow. */
function layerViolations(graph: ImportGraph): string[] {
  return [...graph].flatMap(([file, targets]) => {
    const layer = layerOf(file);
    const allowed = layer === undefined ? undefined : MAY_IMPORT[layer];
    if (layer === undefined || allowed === undefined) return [];
    return targets
      .filter((target) => {
        const to = layerOf(target);
        return to !== layer && (to === undefined || !allowed.includes(to));
      })
      .map((target) => `${file} imports ${target}`);
  });
}

describe('the layers', () => {
  const graph = importGraph(ROOT, ['functions', 'infra']);

  it('reads the whole tree, every import resolved to a file it read', () => {
    expect(graph.size).toBeGreaterThan(60);
    expect(graph.get('functions/api/index.ts')).toContain('functions/api/handler.ts');
    const unresolved = [...graph].flatMap(([file, targets]) =>
      targets.filter((t) => !graph.has(t)).map((t) => `${file} → ${t}`),
    );
    expect(unresolved).toEqual([]);
  });

  it('keeps contract/ at the bottom, and web/, cli/ and client/ on contract/ and client/ only', () => {
    expect(layerViolations(graph)).toEqual([]);
  });

  it('has no import cycle in functions/ or infra/', () => {
    expect(importCycles(graph)).toEqual([]);
  });
});

describe('the import walker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dialback-layers-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Writes `files` (path → text) under a fresh folder and returns its graph. */
  function tree(name: string, files: Readonly<Record<string, string>>): ImportGraph {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, name, path, '..'), { recursive: true });
      writeFileSync(join(dir, name, path), text);
    }
    return importGraph(join(dir, name), ['functions']);
  }

  it('finds static, type-only, re-exported and dynamic imports, not packages', () => {
    const text = [
      "import type { A } from './a.ts';",
      "export { b } from '../b.ts';",
      "import c from 'node:fs';",
      "const d = await import('./d.ts');",
    ].join('\n');
    expect(importSpecifiers(text)).toEqual(['./a.ts', '../b.ts', './d.ts']);
  });

  it('catches a view that reaches into core, and a contract that reaches into core', () => {
    const graph = tree('layers', {
      'functions/web/page.ts': "import { STATE } from '../core/verdict-text.ts';",
      'functions/contract/wire.ts': "import type { PortState } from '../core/probe.ts';",
      'functions/cli/main.ts': "import { parse } from '../contract/wire.ts';\nimport { run } from './run.ts';",
      'functions/core/probe.ts': "import type { PortResult } from '../contract/wire.ts';",
    });
    expect(layerViolations(graph).sort()).toEqual([
      'functions/contract/wire.ts imports functions/core/probe.ts',
      'functions/web/page.ts imports functions/core/verdict-text.ts',
    ]);
  });

  it('catches a cycle through types, across folders, and a file importing itself', () => {
    const graph = tree('cycles', {
      'functions/contract/wire.ts': "import type { PortState } from '../core/probe.ts';",
      'functions/core/probe.ts': "import { a } from './all.ts';",
      'functions/core/all.ts': "import type { PortResult } from '../contract/wire.ts';",
      'functions/core/self.ts': "export { x } from './self.ts';",
      'functions/core/leaf.ts': "import type { PortResult } from '../contract/wire.ts';",
    });
    const cycles = importCycles(graph).map((cycle) => cycle.join(' → '));
    expect(cycles).toHaveLength(2);
    expect(cycles).toContain('functions/core/self.ts → functions/core/self.ts');
    expect(cycles.find((c) => c.includes('wire'))?.split(' → ')).toHaveLength(4);
  });
});
