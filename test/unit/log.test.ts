/**
 * The log line: one JSON object per line with level, message, timestamp and the given fields, and
 * the scrub that keeps addresses out of error texts we did not write.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLog, redactAddresses } from '../../functions/core/log.ts';

describe('createLog', () => {
  // Lambda's JSON log format reads `level` and an RFC 3339 `timestamp`; a line without both
  // counts as INFO, and an application log level of WARN would drop the error lines with it.
  it('writes one JSON object with level, message, an RFC 3339 timestamp and the fields', () => {
    const lines: string[] = [];
    const log = createLog((line) => lines.push(line));
    const before = Date.now();
    log('warn', 'table slow', { requestId: 'r1', ms: 120 });
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0] ?? '');
    expect(Object.keys(entry)).toEqual(['level', 'message', 'timestamp', 'requestId', 'ms']);
    expect(entry).toMatchObject({ level: 'WARN', message: 'table slow', requestId: 'r1', ms: 120 });
    expect(entry.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(entry.timestamp)).toBeGreaterThanOrEqual(before - 1000);
    expect(lines[0]).not.toContain('\n');
  });

  it('writes level, message and timestamp alone when there are no fields', () => {
    const lines: string[] = [];
    createLog((line) => lines.push(line))('error', 'boom');
    expect(Object.keys(JSON.parse(lines[0] ?? ''))).toEqual(['level', 'message', 'timestamp']);
  });

  it.each([
    ['info', 'INFO'],
    ['warn', 'WARN'],
    ['error', 'ERROR'],
  ] as const)('names level %s as Lambda does, %s', (level, written) => {
    const lines: string[] = [];
    createLog((line) => lines.push(line))(level, 'x');
    expect(JSON.parse(lines[0] ?? '').level).toBe(written);
  });

  it('keeps level and timestamp when a field of the same name is passed', () => {
    const lines: string[] = [];
    createLog((line) => lines.push(line))('error', 'boom', { level: 'debug', timestamp: 'yesterday', ms: 1 });
    const entry = JSON.parse(lines[0] ?? '');
    expect(entry.level).toBe('ERROR');
    expect(Date.parse(entry.timestamp)).not.toBeNaN();
    expect(entry.ms).toBe(1);
  });

  it('writes each call as its own line, in order', () => {
    const lines: string[] = [];
    const log = createLog((line) => lines.push(line));
    for (const level of ['info', 'warn', 'error'] as const) log(level, `at ${level}`);
    expect(lines.map((l) => JSON.parse(l).level)).toEqual(['INFO', 'WARN', 'ERROR']);
    expect(lines.map((l) => JSON.parse(l).message)).toEqual(['at info', 'at warn', 'at error']);
  });

  describe('by default', () => {
    const write = process.stdout.write;
    afterEach(() => {
      process.stdout.write = write;
    });

    it('writes newline-terminated lines to stdout', () => {
      const written: string[] = [];
      // Captured for this one call only: stdout is the Lambda's real sink, read by CloudWatch.
      process.stdout.write = ((chunk: string) => {
        written.push(chunk);
        return true;
      }) as typeof process.stdout.write;
      createLog()('info', 'started', { port: 8080 });
      process.stdout.write = write;
      expect(written).toHaveLength(1);
      expect(written[0]?.endsWith('}\n')).toBe(true);
      expect(JSON.parse(written[0] ?? '')).toMatchObject({ level: 'INFO', message: 'started', port: 8080 });
    });
  });
});

describe('redactAddresses', () => {
  it.each([
    ['connect ECONNREFUSED 203.0.113.9:443', 'connect ECONNREFUSED <address>:443'],
    ['from 10.0.0.1 to 192.168.100.254', 'from <address> to <address>'],
    ['255.255.255.255', '<address>'],
    ['connect ETIMEDOUT 2001:db8::1', 'connect ETIMEDOUT <address>'],
    ['peer [2001:db8:85a3::8a2e:370:7334]:443 reset', 'peer <address>:443 reset'],
    ['full 2001:0db8:0000:0000:0000:ff00:0042:8329 here', 'full <address> here'],
    ['link fe80::1ff:fe23:4567:890a%eth0', 'link <address>%eth0'],
    ['FE80::ABCD', '<address>'],
    ['a:b:c:d', '<address>'],
  ])('redacts %s', (input, output) => {
    expect(redactAddresses(input)).toBe(output);
  });

  it.each([
    'retry at 12:30:45',
    'version 1.2.3 of the SDK',
    'took 1234.5678 ms',
    'host example.net port 8080',
    'ResourceNotFoundException: Requested resource not found',
    'ratio 1:2',
    '',
  ])('keeps %j, which holds no address', (input) => {
    expect(redactAddresses(input)).toBe(input);
  });

  it('scrubs the IPv4 part of an IPv4-mapped IPv6 address', () => {
    const out = redactAddresses('mapped ::ffff:198.51.100.7 here');
    expect(out).toContain('<address>');
    expect(out).not.toMatch(/198|51\.100|\.7\b/);
  });

  it('leaves no digit of an address behind', () => {
    const out = redactAddresses('a 203.0.113.200 b 2001:db8:1:2:3:4:5:6 c');
    expect(out).toBe('a <address> b <address> c');
    expect(out).not.toMatch(/\d/);
  });
});
