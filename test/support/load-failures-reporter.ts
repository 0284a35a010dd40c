/**
 * Used only under Stryker (test/vitest.config.ts). A test file whose import throws, or whose
 * `beforeAll` fails, leaves vitest with no failed test, only a failed file, and Stryker's vitest
 * runner reads tests alone: it scored such a mutant "survived" though every test of the file
 * failed (stryker-js#6150, #5492). This reporter gives each such file one failed test carrying
 * the file's error, so the mutant counts as killed. Files whose tests ran are left alone.
 */
import type { RunnerTask, RunnerTestFile } from 'vitest';
import type { Reporter, TestModule } from 'vitest/node';

function ranTests(task: RunnerTask): boolean {
  if (task.type === 'test') return task.result !== undefined && task.result.state !== 'skip';
  return 'tasks' in task && task.tasks.some(ranTests);
}

/** Adds a failed test to every failed test file that ran none. */
export class LoadFailuresAsTests implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    for (const module of testModules) {
      // The runner's task, which vitest's public types leave out; it is what Stryker reads.
      const file = (module as unknown as { task: RunnerTestFile }).task;
      if (file.result?.state !== 'fail' || ranTests(file)) continue;
      // A plain object in the task's shape: only Stryker reads it, after the run has ended.
      file.tasks.push({
        type: 'test',
        id: `${file.id}_load`,
        name: 'loads and sets up',
        mode: 'run',
        file,
        suite: undefined,
        meta: {},
        result: { state: 'fail', errors: file.result.errors ?? [], duration: 0 },
        // biome-ignore lint/suspicious/noExplicitAny: the test context only vitest builds; nothing reads it after the run
      } as any);
    }
  }
}
