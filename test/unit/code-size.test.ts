import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The size limits the restructure set for code we ship and deploy: a file a reader can hold
 * (≤ 400 lines) and functions short enough to test rule by rule (≤ 100 lines, counted from the
 * first line of the declaration to its closing brace, nested functions included in their parent).
 */
const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 100;
const ROOT = join(import.meta.dirname, '..', '..');
const CHECKED_DIRS = ['functions', 'infra'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Lines as `wc -l` counts them: a final newline ends the last line, it does not start one. */
function lineCount(text: string): number {
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

interface Span {
  readonly where: string;
  readonly lines: number;
}

/** Every function-like node of one file with its line count, named by file, line and name. */
function functionSpans(fileName: string, text: string): Span[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const spans: Span[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const name = node.name !== undefined ? node.name.getText(source) : ts.SyntaxKind[node.kind];
      spans.push({ where: `${fileName}:${start + 1} ${name}`, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return spans;
}

const files = CHECKED_DIRS.flatMap((dir) => sourceFiles(join(ROOT, dir)));

describe('code size', () => {
  it('finds the code it checks', () => {
    expect(files.length).toBeGreaterThan(50);
  });

  it(`keeps every file under functions/ and infra/ at ≤ ${MAX_FILE_LINES} lines`, () => {
    const long = files
      .map((file) => ({ file: relative(ROOT, file), lines: lineCount(readFileSync(file, 'utf8')) }))
      .filter(({ lines }) => lines > MAX_FILE_LINES);
    expect(long).toEqual([]);
  });

  it(`keeps every function there at ≤ ${MAX_FUNCTION_LINES} lines`, () => {
    const long = files
      .flatMap((file) => functionSpans(relative(ROOT, file), readFileSync(file, 'utf8')))
      .filter(({ lines }) => lines > MAX_FUNCTION_LINES);
    expect(long).toEqual([]);
  });

  it('counts a function from its first line to its closing brace, nested ones inside the parent', () => {
    const body = Array.from({ length: 3 }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const text = `export function outer() {\n${body}\n  const inner = () => {\n    return 1;\n  };\n}\n`;
    const spans = functionSpans('x.ts', text);
    expect(spans).toEqual([
      { where: 'x.ts:1 outer', lines: 8 },
      { where: 'x.ts:5 ArrowFunction', lines: 3 },
    ]);
  });
});
