/**
 * Runs in a fresh Node process started by lambda-memory.ts (bundled by esbuild, so it is plain
 * JavaScript with no loader in the way): imports the deployed bundle the way Lambda does and
 * reports its memory and CPU per kind of request. Events arrive as JSON in argv[3].
 */
import { pathToFileURL } from 'node:url';
import { guardOutboundConnections } from '../support/connect-guard.ts';

type Event = Record<string, unknown>;
interface Kind {
  readonly name: string;
  readonly event: Event;
}
type Handler = (event: Event, context: object) => Promise<{ statusCode: number }>;

const MB = 2 ** 20;
const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 8000 };

function mb(bytes: number): number {
  return Math.round((bytes / MB) * 10) / 10;
}

async function main(): Promise<void> {
  const [bundlePath, kindsJson, roundsText] = process.argv.slice(2);
  if (bundlePath === undefined || kindsJson === undefined) throw new Error('usage: child BUNDLE KINDS [ROUNDS]');
  const kinds = JSON.parse(kindsJson) as Kind[];
  const rounds = Number(roundsText ?? '200');
  guardOutboundConnections();
  // Keep the bundle's request log lines out of the report.
  process.stdout.write = () => true;
  const report: Record<string, unknown> = { baselineRssMb: mb(process.memoryUsage().rss) };
  const cpu0 = process.cpuUsage();
  const { handler } = (await import(pathToFileURL(bundlePath).href)) as { handler: Handler };
  const initCpu = process.cpuUsage(cpu0);
  report.afterImportRssMb = mb(process.memoryUsage().rss);
  report.initCpuMs = Math.round((initCpu.user + initCpu.system) / 100) / 10;
  let peak = process.memoryUsage().rss;
  const statuses: Record<string, number> = {};
  const cpuMicros: Record<string, number[]> = {};
  for (let round = 0; round < rounds; round++) {
    for (const kind of kinds) {
      const before = process.cpuUsage();
      const response = await handler({ ...kind.event }, context);
      const used = process.cpuUsage(before);
      statuses[kind.name] = response.statusCode;
      const samples = cpuMicros[kind.name] ?? [];
      samples.push(used.user + used.system);
      cpuMicros[kind.name] = samples;
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    if (round === 0) report.afterFirstRoundRssMb = mb(process.memoryUsage().rss);
  }
  const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  report.peakRssMb = mb(peak);
  report.finalHeapUsedMb = mb(process.memoryUsage().heapUsed);
  report.statuses = statuses;
  report.firstCpuMs = Object.fromEntries(
    Object.entries(cpuMicros).map(([k, v]) => [k, Math.round((v[0] ?? 0) / 100) / 10]),
  );
  report.medianCpuMs = Object.fromEntries(
    Object.entries(cpuMicros).map(([k, v]) => [k, Math.round(median(v.slice(1)) / 100) / 10]),
  );
  process.stderr.write(`${JSON.stringify(report)}\n`);
}

await main();
