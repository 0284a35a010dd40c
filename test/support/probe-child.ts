/**
 * A child process that probes 127.0.0.1 on the ports given as arguments once its parent says
 * "go" on stdin, and prints one JSON line: `{ results }` or `{ error: { name, code } }`. The
 * parent lowers this process's open-files limit with prlimit in between, so the probe meets a
 * real EMFILE without touching the test runner's own limit.
 */
import { once } from 'node:events';
import { LocalProbeError, probePorts } from '../../functions/core/probe.ts';

const ports = process.argv.slice(2).map(Number);
process.stdout.write('ready\n');
await once(process.stdin, 'data');
try {
  const results = await probePorts({ address: '127.0.0.1', family: 4 }, ports, {
    timeoutMs: 2000,
    attempts: 1,
    attemptSpacingMs: 250,
  });
  process.stdout.write(`${JSON.stringify({ results })}\n`);
} catch (error) {
  const code = error instanceof LocalProbeError ? error.code : undefined;
  process.stdout.write(`${JSON.stringify({ error: { name: (error as Error).name, code } })}\n`);
}
process.exit(0);
