/**
 * The lab's probe process is built like the Lambda's (support/lab/bundled-script.ts): one bundled
 * file that loads no package at run time, and while it probes, no thread but Node's main thread
 * and V8's own. Under tsx, a cold cache adds a worker thread (esbuild's) and the thread pool
 * working on files beside the dials, where a descriptor taken under a dial reads as a false
 * 'connect' (descriptor-takeover.test.ts). Should one appear anyway, the run fails as a lab fault.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bundledScript } from '../support/lab/bundled-script.ts';
import { runProbeTrials } from '../support/lab/dialback.ts';
import type { ProbeJob, ProbeTrial } from '../support/lab/probe-runner.ts';
import { LabFault } from '../support/lab/wire.ts';
import { releasedPort } from '../support/ports.ts';

const RUNNER = fileURLToPath(new URL('../support/lab/probe-runner.ts', import.meta.url));

/** The names of `pid`'s threads now (empty once it has exited). */
async function threadNames(pid: number): Promise<string[]> {
  try {
    const tasks = await readdir(`/proc/${pid}/task`);
    const names = await Promise.all(tasks.map((t) => readFile(`/proc/${pid}/task/${t}/comm`, 'utf8').catch(() => '')));
    return names.map((n) => n.trim()).filter((n) => n !== '');
  } catch {
    return [];
  }
}

describe("the lab's probe process", () => {
  it('is one bundled file whose only imports are Node built-ins', async () => {
    const code = await readFile(await bundledScript(RUNNER), 'utf8');
    const specifiers = [...code.matchAll(/\bfrom\s*"([^"]+)"|\bimport\s*\(\s*"([^"]+)"\s*\)/g)].map(
      (m) => m[1] ?? m[2],
    );
    expect(specifiers.length).toBeGreaterThan(0);
    expect(specifiers.filter((s) => !s?.startsWith('node:'))).toEqual([]);
  });

  it('probes with no worker thread and no thread-pool thread beside the dials', async () => {
    const port = await releasedPort();
    const job: ProbeJob = { address: '127.0.0.1', family: 4, ports: [port], trials: 4, concurrency: 1, pauseMs: 300 };
    const child = spawn(process.execPath, [await bundledScript(RUNNER), JSON.stringify(job)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const seen = new Set<string>();
    let running = true;
    void exited.then(() => {
      running = false;
    });
    // Sampled through the run (about 1 s of pauses and dials), at most 100 times.
    for (let i = 0; i < 100 && running; i++) {
      for (const name of await threadNames(child.pid ?? -1)) seen.add(name);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await exited).toBe(0);
    const trials = JSON.parse(out) as ProbeTrial[];
    expect(trials.flatMap((t) => t.results.map((r) => r.state))).toEqual(['closed', 'closed', 'closed', 'closed']);
    expect(seen).toContain('MainThread');
    expect([...seen].filter((n) => n === 'WorkerThread' || n.startsWith('libuv-worker'))).toEqual([]);
  });

  it('fails the run as a lab fault when the runtime reported a connection the kernel did not hold', async () => {
    // The fault itself is made for real in descriptor-takeover.test.ts; here the runner's report
    // of it, as the lab's checker would print it, must stop the run instead of passing as a warning.
    const trial: ProbeTrial = {
      results: [{ port: 20106, state: 'closed', reason: 'conn-refused', rttMs: 1 }],
      elapsedMs: 30,
      loopLagMs: 0,
      unproven: [{ port: 20106, kernel: "fd 21 (not the dial's own socket 21): a Unix socket (unnamed)" }],
    };
    const checker = { exec: async () => JSON.stringify([trial]) };
    const job: ProbeJob = { address: '198.18.0.2', family: 4, ports: [20106], trials: 1, concurrency: 1 };
    const failed = await runProbeTrials(checker, job).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(LabFault);
    expect(String(failed)).toContain('port 20106, kernel: fd 21');
  });
});
