/**
 * Property-based fuzzing of the whole handler with arbitrary API Gateway payload-v2 events:
 * hostile paths, query strings, headers (address spoofs included), methods, bodies and
 * encodings, huge and empty values, and hostile reverse-DNS names (a caller controls its own
 * PTR record). The dialer is a recording probe, so every address the service asks to dial is
 * checked against `requestContext.http.sourceIp`. The limiter is in memory: these properties
 * are about HTTP input; limits are fuzzed against dynalite in test/integration.
 *
 * Reproduce a failure with the seed printed in the failure message: `FUZZ_SEED=<seed> npm test -- handler-fuzz`.
 * `FUZZ_RUNS` raises the number of runs for a longer local session.
 */
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/api/handler.ts';
import type { HttpResponse } from '../../functions/api/http.ts';
import { apiEvent, lambdaContext } from '../fixtures/events.ts';
import { type ProbeCall, recordingProbe, testDeps } from '../support/handler-deps.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);
const SEED =
  process.env.FUZZ_SEED === undefined ? (Date.now() ^ (Math.random() * 2 ** 31)) | 0 : Number(process.env.FUZZ_SEED);
const MAX_PORTS = 10;
const ENV = { MAX_PORTS: String(MAX_PORTS), RATE_LIMIT_KEY: 'fuzz-key-0123456789abcdef' };

/** Markers that must never reach an HTML page raw: if one does, input was echoed unescaped. */
const HTML_MARKERS = ['<fuzz-tag', '<script>fuzz', '<img src=x onerror=fuzz', '</script><fuzz'];
const HOSTILE = fc.constantFrom(
  '<fuzz-tag>',
  '<script>fuzz()</script>',
  '<img src=x onerror=fuzz()>',
  '"><fuzz-tag x="',
  "'><fuzz-tag x='",
  '</script><fuzz-tag>',
  '\u001b[31mred\u001b[0m',
  '\u0000',
  '\r\nx-injected: 1',
  '\u202e',
  '\ud800',
  '%00',
  '%C0%AF',
  '%E0%80%AF',
  '%F0%9F%92%A9',
  '%',
  '%zz',
  '%%32%35',
  '..%2F..%2F',
  '{{7*7}}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, literally
  '${7*7}',
);

/** Any string, with a bias to hostile fragments, odd encodings and sometimes a huge size. */
const anyText = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
  { weight: 3, arbitrary: fc.tuple(fc.string(), HOSTILE, fc.string()).map((parts) => parts.join('')) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('a', '%', '<', '\u0000', 'é', ',', '9', '%41'), fc.integer({ min: 1000, max: 120_000 }))
      .map(([unit, n]) => unit.repeat(n)),
  },
  { weight: 1, arbitrary: fc.constant('') },
);

const percentBytes = fc
  .array(fc.integer({ min: 0, max: 255 }), { maxLength: 12 })
  .map((bytes) => bytes.map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join(''));

const portText = fc.oneof(
  fc.integer({ min: -5, max: 70_000 }).map(String),
  fc.constantFrom('0', '080', '0x50', '1e3', '٤٤٣', ' 80', '80 ', '+80', '-0', '443.0', '65535', '65536'),
  percentBytes,
);

const rawPath = fc.oneof(
  fc.constantFrom('/', '/ip', '/check', '/check/', '/check/443', '//check/80', '/CHECK/80', '/check/80/', '/widget.js'),
  fc.constantFrom('/openapi.json', '/ip/', '/check/%34%34%33', '/favicon.ico', '/index.html', '/check/80%2F81'),
  portText.map((p) => `/check/${p}`),
  anyText.map((t) => `/check/${t}`),
  anyText.map((t) => `/${t}`),
  percentBytes.map((t) => `/${t}`),
);

const portList = fc.array(portText, { maxLength: 14 }).map((ports) => ports.join(','));
/** Dial-proof tokens: valid ones, near misses and hostile ones. */
const token = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{16,64}$/),
  fc.constantFrom('short', 'a'.repeat(65), 'abcdefghijklmnop%0A', 'abcdefghijklmnop%0D%0AX: 1', 'abcdefghijklmnop%00'),
  anyText,
);
const rawQueryString = fc.oneof(
  fc.constant(''),
  fc.tuple(portList, token).map(([list, t]) => `ports=${list}&token=${t}`),
  token.map((t) => `token=${t}`),
  portList.map((list) => `ports=${list}`),
  fc.tuple(portList, portList).map(([a, b]) => `ports=${a}&ports=${b}`),
  fc.constantFrom('ports', 'ports=', 'ports=,', 'ports=22,,80', '&&ports=22&', 'ports=22%2C80', 'ports=22+80'),
  anyText,
  anyText.map((t) => `ports=${t}`),
  percentBytes.map((t) => `ports=${t}`),
);

/** Addresses that are not the caller, for spoofing headers. */
const spoofAddress = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.constantFrom('127.0.0.1', '169.254.169.254', '10.0.0.1', '::1', '198.51.100.9', 'localhost', 'unknown'),
);
const spoofHeaders = fc.record(
  {
    'x-forwarded-for': fc.array(spoofAddress, { minLength: 1, maxLength: 3 }).map((a) => a.join(', ')),
    forwarded: spoofAddress.map((a) => `for="${a}";proto=https`),
    'x-real-ip': spoofAddress,
    'true-client-ip': spoofAddress,
    'cf-connecting-ip': spoofAddress,
    'x-client-ip': spoofAddress,
  },
  { requiredKeys: [] },
);
const negotiation = fc.record(
  {
    accept: fc.oneof(
      fc.constantFrom('text/plain', 'text/html', 'application/json', '*/*', 'text/*;q=0.9, */*;q=0.1'),
      fc.constantFrom('text/plain;q=abc', 'text/plain;q=, application/json;q=1e400', ',,;;', 'text/html,*/*;q=0.8'),
      anyText,
    ),
    'user-agent': fc.oneof(fc.constantFrom('curl/8.5.0', 'Wget/1.21', 'HTTPie/3.2', 'Mozilla/5.0'), anyText),
    origin: fc.oneof(fc.constantFrom('https://example.com', 'null'), anyText),
    'access-control-request-method': fc.oneof(fc.constant('GET'), anyText),
    'access-control-request-headers': fc.oneof(fc.constant('content-type'), anyText),
  },
  { requiredKeys: [] },
);
const otherHeaders = fc.dictionary(
  fc.oneof(fc.constantFrom('host', 'cookie', 'content-type', 'content-length', 'x-amz-date'), fc.string()),
  anyText,
  { maxKeys: 4 },
);
const headers = fc
  .tuple(otherHeaders, spoofHeaders, negotiation)
  .map(([other, spoof, neg]) => ({ ...other, ...spoof, ...neg }) as Record<string, string>);

const method = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('GET', 'get', 'OPTIONS', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH') },
  { weight: 1, arbitrary: fc.constantFrom('TRACE', 'CONNECT', 'constructor', '__proto__', '') },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);

/** A source address as API Gateway might report it, with the address the service must dial. */
interface Source {
  readonly raw: string | undefined;
  /** Bytes of the one address that may be dialed, or `undefined` when nothing may be. */
  readonly expected: number[] | undefined;
}

/**
 * The 4 or 16 bytes an address's text stands for, parsed here by hand: the oracle shares no
 * code with the service (which uses ipaddr.js), so a library quirk cannot hide in both. The
 * text is one fast-check generated, so only well-formed addresses arrive here.
 */
function textBytes(text: string): number[] {
  if (!text.includes(':')) return text.split('.').map(Number);
  const quad = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  const [a = 0, b = 0, c = 0, d = 0] = quad?.slice(2).map(Number) ?? [];
  const hex =
    quad?.[1] === undefined ? text : `${quad[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  const [left = '', right] = hex.split('::');
  const groups = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const head = groups(left);
  const tail = right === undefined ? [] : groups(right);
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

/**
 * The bytes the service may dial for a source address, or `undefined` when it may dial
 * nothing: IPv4-mapped `::ffff:a.b.c.d` is the IPv4 address; IPv4-compatible `::a.b.c.d`
 * (::/96 but :: and ::1) is deprecated, never routed, and never dialed, however it is written.
 */
function dialBytes(text: string): number[] | undefined {
  const bytes = textBytes(text);
  if (bytes.length === 4) return bytes;
  const zeros = (from: number, to: number): boolean => bytes.slice(from, to).every((b) => b === 0);
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12);
  if (zeros(0, 12) && !(zeros(12, 15) && (bytes[15] ?? 0) <= 1)) return undefined;
  return bytes;
}

function source(raw: string, address = raw): Source {
  return { raw, expected: dialBytes(address) };
}

const validSource: fc.Arbitrary<Source> = fc.oneof(
  fc.ipV4().map((a) => source(a)),
  fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 })).map(([a, p]) => source(`${a}:${p}`, a)),
  fc.ipV6().map((a) => source(a)),
  fc.ipV6().map((a) => source(a.toUpperCase(), a)),
  fc.tuple(fc.ipV6(), fc.integer({ min: 1, max: 65535 })).map(([a, p]) => source(`[${a}]:${p}`, a)),
  fc.ipV4().map((a) => source(`::ffff:${a}`)),
  // IPv4-compatible, in each way it can be written.
  fc.ipV4().map((a) => source(`::${a}`)),
  fc.ipV4().map((a) => source(`0:0:0:0:0:0:${a}`)),
  fc.ipV4().map((a) => {
    const [high, low] = hexPair(a);
    return source(`::${high}:${low}`);
  }),
);

/** An IPv4 address as the two hex groups of its IPv6 spelling (`8.8.8.8` → `808`, `808`). */
function hexPair(v4: string): [string, string] {
  const [a = 0, b = 0, c = 0, d = 0] = v4.split('.').map(Number);
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}

const HEX_AND_PUNCTUATION = /^[0-9A-Fa-f:.[\]]*$/;
const garbageSource: fc.Arbitrary<Source> = fc
  .oneof(
    fc.constantFrom(
      undefined,
      '',
      ' 8.8.8.8',
      '8.8.8.8 ',
      '8.8.8.8, 1.1.1.1',
      'fe80::1%eth0',
      'localhost',
      '0x08.8.8.8',
    ),
    fc.constantFrom('010.8.8.8', '134744072', '8.8.2056', '8.8.8.8.', '[8.8.8.8]x', '2001:4860::8888%1', '1.2.3.4/24'),
    fc.ipV4Extended().filter((a) => !ipaddr.IPv4.isValidFourPartDecimal(a)),
    fc.domain(),
    fc.string().filter((s) => !HEX_AND_PUNCTUATION.test(s)),
  )
  .map((raw) => ({ raw, expected: undefined }));

const request = fc.record({
  method,
  rawPath,
  rawQueryString,
  headers,
  source: fc.oneof({ weight: 4, arbitrary: validSource }, { weight: 1, arbitrary: garbageSource }),
  body: fc.option(anyText, { nil: undefined }),
  isBase64Encoded: fc.boolean(),
  ptr: fc.option(fc.oneof(anyText, fc.constant('<script>fuzz()</script>.evil.example')), { nil: null }),
});
type Request = typeof request extends fc.Arbitrary<infer T> ? T : never;

const PROBLEM_FIELDS = new Set(['type', 'title', 'status', 'detail', 'retryAfterSeconds', 'requestId', 'instance']);
const HEADER_BREAK = /[\r\n]|\0/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/** Asserts every property one response must have; throws (failing the run) otherwise. */
function assertSafe(input: Request, response: HttpResponse, calls: readonly ProbeCall[], logs: string): void {
  expect(response.statusCode).toBeGreaterThanOrEqual(200);
  expect(response.statusCode).toBeLessThan(500);
  expect(response.headers['cache-control']).toBe('no-store');
  expect(typeof response.body).toBe('string');
  const type = response.headers['content-type'] ?? '';

  if (input.method.toUpperCase() === 'HEAD') {
    // HEAD: the GET's status and headers, never a body, and never a probe.
    expect(response.body).toBe('');
    expect(calls).toEqual([]);
  } else if (response.statusCode >= 400 && type.startsWith('text/html')) {
    // The page (GET /) shows the same problems to people, as HTML; only it may.
    expect(input.rawPath).toBe('/');
    if (response.statusCode === 405) expect(response.headers.allow).toMatch(/GET/);
    if (response.statusCode === 429 || response.statusCode === 503)
      expect(response.headers['retry-after']).toMatch(/^\d+$/);
  } else if (response.statusCode >= 400 && type.startsWith('text/plain')) {
    // Terminal clients get the problem as text, like the results they get as a table.
    expect(response.body).toMatch(
      new RegExp(`^[^\\n]+ \\(HTTP ${response.statusCode}\\): [^\\n]+\\nRequest id: [^\\n]+\\n$`),
    );
    if (response.statusCode === 405) expect(response.headers.allow).toMatch(/GET/);
  } else if (response.statusCode >= 400) {
    expect(type).toMatch(/^application\/problem\+json\b/);
    const problem = JSON.parse(response.body) as Record<string, unknown>;
    expect(problem.type).toMatch(/^urn:dialback:problem:[a-z-]+$/);
    expect(problem.title).toEqual(expect.any(String));
    expect(problem.status).toBe(response.statusCode);
    expect(problem.detail).toEqual(expect.any(String));
    expect((problem.detail as string).length).toBeGreaterThan(0);
    expect((problem.detail as string).length).toBeLessThan(400);
    expect(problem.requestId).toEqual(expect.any(String));
    for (const field of Object.keys(problem)) expect(PROBLEM_FIELDS).toContain(field);
    if (response.statusCode === 405) expect(response.headers.allow).toMatch(/GET/);
    if (response.statusCode === 429 || response.statusCode === 503) {
      expect(response.headers['retry-after']).toBe(String(problem.retryAfterSeconds));
    }
  } else if (/^application\/(problem\+)?json\b/.test(type)) {
    JSON.parse(response.body);
  }
  if (type.startsWith('text/plain')) expect(response.body).not.toMatch(CONTROL);
  if (type.startsWith('text/html')) {
    for (const marker of HTML_MARKERS) expect(response.body).not.toContain(marker);
  }
  for (const value of Object.values(response.headers)) expect(value).not.toMatch(HEADER_BREAK);

  // The dialer is only ever asked for the source address, once, with a bounded port list.
  expect(calls.length).toBeLessThanOrEqual(1);
  for (const call of calls) {
    expect(input.source.expected).toBeDefined();
    expect(textBytes(call.target.address)).toEqual(input.source.expected);
    // Only 2000::/3 is global unicast IPv6: checked here without the library the service uses.
    if (call.target.family === 6) expect((input.source.expected?.[0] ?? 0) & 0xe0).toBe(0x20);
    expect(call.target.family).toBe(input.source.expected?.length === 4 ? 4 : 6);
    expect(call.ports.length).toBeGreaterThan(0);
    expect(call.ports.length).toBeLessThanOrEqual(MAX_PORTS);
    for (const port of call.ports) expect(Number.isInteger(port) && port >= 1 && port <= 65535).toBe(true);
    // The only bytes a probe may send: one fixed-format proof line with a well-formed token.
    if (call.greeting !== undefined) expect(call.greeting).toMatch(/^DIALBACK [A-Za-z0-9_-]{16,64}\n$/);
    const parsed = ipaddr.fromByteArray(input.source.expected ?? []);
    expect(parsed.range()).toBe('unicast');
  }
  if (response.statusCode === 200 && /^\/check/.test(input.rawPath) && input.method.toUpperCase() !== 'HEAD')
    expect(calls).toHaveLength(1);

  // No log line carries the caller's address.
  if (input.source.expected !== undefined) {
    const address = ipaddr.fromByteArray(input.source.expected).toString();
    if (address.length >= 7 && !input.method.includes(address)) expect(logs).not.toContain(address);
  }
}

async function run(input: Request): Promise<{ response: HttpResponse; calls: readonly ProbeCall[] }> {
  const recorder = recordingProbe();
  const lines: string[] = [];
  const handler = createHandler(
    testDeps(ENV, {
      probe: recorder.probe,
      reverseDns: async () => input.ptr,
      log: (level, message, fields) => lines.push(JSON.stringify({ level, message, ...fields })),
    }),
  );
  const event = {
    ...apiEvent({
      method: input.method,
      headers: input.headers,
      ...(input.body === undefined ? {} : { body: input.body }),
    }),
    rawPath: input.rawPath,
    rawQueryString: input.rawQueryString,
    isBase64Encoded: input.body !== undefined && input.isBase64Encoded,
  };
  // A missing or hostile sourceIp is part of the input space; the type says string, the wire may not.
  (event.requestContext.http as { sourceIp: string | undefined }).sourceIp = input.source.raw;
  const response = await handler(event, lambdaContext());
  assertSafe(input, response, recorder.calls, lines.join('\n'));
  return { response, calls: recorder.calls };
}

/** Runs a property with the shared seed, saying how to reproduce it if it fails. */
async function check(property: fc.IAsyncProperty<[Request]>, numRuns: number): Promise<void> {
  const details = await fc.check(property, { seed: SEED, numRuns });
  if (details.failed) {
    throw new Error(
      `fuzz failed (reproduce: FUZZ_SEED=${SEED} npm test -- handler-fuzz)\n${fc.defaultReportMessage(details)}\n${String(details.errorInstance)}`,
    );
  }
}

describe('handler under fuzzing', () => {
  it(`never throws, never answers 500, and dials only the source address (${RUNS} runs)`, async () => {
    await check(
      fc.asyncProperty(request, async (input) => {
        await run(input);
      }),
      RUNS,
    );
  });

  it('dials the source address and nothing else when the request is a valid check with spoofed headers', async () => {
    const globalV4 = fc.ipV4().filter((a) => ipaddr.parse(a).range() === 'unicast');
    const globalV6 = fc
      .tuple(
        fc.integer({ min: 0x2000, max: 0x3fff }),
        fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 7, maxLength: 7 }),
      )
      .map(([first, rest]) => new ipaddr.IPv6([first, ...rest]).toString())
      .filter((a) => ipaddr.parse(a).range() === 'unicast');
    const valid = fc.record({
      method: fc.constant('GET'),
      rawPath: fc.oneof(
        fc.integer({ min: 1, max: 65535 }).map((p) => `/check/${p}`),
        fc.constant('/check'),
      ),
      rawQueryString: fc
        .uniqueArray(fc.integer({ min: 1, max: 65535 }), { minLength: 1, maxLength: MAX_PORTS })
        .map((ports) => `ports=${ports.join(',')}`),
      headers: spoofHeaders.map((h) => h as Record<string, string>),
      source: fc.oneof(globalV4, globalV6).map((a) => source(a)),
      body: fc.constant(undefined),
      isBase64Encoded: fc.constant(false),
      ptr: fc.constant(null),
    });
    await check(
      fc.asyncProperty(valid, async (input) => {
        const { response, calls } = await run(input);
        expect(response.statusCode).toBe(200);
        expect(calls).toHaveLength(1);
        expect(JSON.parse(response.body).ip).toBe(calls[0]?.target.address);
      }),
      500,
    );
  });
});
