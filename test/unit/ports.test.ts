import { describe, expect, it } from 'vitest';
import {
  MAX_PORT_LIST_LENGTH,
  PORT_LIST_PATTERN,
  PORT_PATTERN,
  PortSyntaxError,
  parsePort,
  parsePortList,
  printable,
} from '../../functions/contract/wire.ts';

describe('parsePort', () => {
  it.each([
    ['1', 1],
    ['80', 80],
    ['65535', 65535],
  ])('reads %s as %i', (raw, port) => {
    expect(parsePort(raw)).toBe(port);
  });

  it.each([
    '0',
    '65536',
    '-1',
    '1e3',
    '0x50',
    ' 80',
    '80 ',
    '080',
    '+80',
    '8.0',
    '',
    '٨٠', // Arabic-Indic digits
    '８０', // full-width digits
    '99999999999999999999',
  ])('refuses %j with a PortSyntaxError naming the value', (raw) => {
    expect(() => parsePort(raw)).toThrow(PortSyntaxError);
    expect(() => parsePort(raw)).toThrow(/is not a TCP port/);
  });

  it('does not echo control characters back', () => {
    try {
      parsePort('8\u0000\n0');
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain('\u0000');
      expect((error as Error).message).not.toContain('\n');
    }
  });
});

describe('parsePortList', () => {
  it('keeps distinct ports in first-given order', () => {
    expect(parsePortList('443,22,443,80,22', 10)).toEqual([443, 22, 80]);
  });

  it('counts duplicates once against the maximum', () => {
    expect(parsePortList('1,1,1,1,2', 2)).toEqual([1, 2]);
  });

  it('refuses more distinct ports than the maximum instead of truncating', () => {
    expect(() => parsePortList('1,2,3', 2)).toThrow(/3 distinct ports.*at most 2/);
  });

  it.each([
    ['', /^The ports list is empty: give one to 10 ports/],
    [',', /empty item: separate ports with single commas/],
    ['22,', /empty item/],
    [',22', /empty item/],
    ['22,,80', /empty item/],
    ['22;80', /^"22;80" is not a TCP port/],
    ['22 80', /^"22 80" has spaces or line breaks in it/],
    ['22, 80', /^"22, 80" has spaces or line breaks in it/],
    ['22\t80', /^"22\?80" has spaces or line breaks in it/],
    ['22\n', /^"22\?" has spaces or line breaks in it/],
    ['22,abc', /^"abc" is not a TCP port/],
    ['80-85', /^"80-85" is a range, and ranges are not accepted: a check dials at most 10 ports.*like 80,81,82/],
    ['22,8000-8080', /^"8000-8080" is a range/],
  ])('refuses the malformed list %j, saying what is wrong', (raw, message) => {
    expect(() => parsePortList(raw, 10)).toThrow(PortSyntaxError);
    expect(() => parsePortList(raw, 10)).toThrow(message);
  });

  it('accepts a list of exactly 1024 characters and refuses one of 1025, before splitting it', () => {
    const longest = `10${',1'.repeat(511)}`;
    expect(longest).toHaveLength(MAX_PORT_LIST_LENGTH);
    expect(parsePortList(longest, 2)).toEqual([10, 1]);
    expect(() => parsePortList(`${longest}0`, 2)).toThrow(/^The ports list is 1025 characters long; at most 1024/);
    expect(() => parsePortList('1,'.repeat(4096), 10)).toThrow(/8192 characters long; at most 1024 characters/);
  });
});

describe('the port grammar as a pattern (HTML pattern attribute, OpenAPI)', () => {
  const list = new RegExp(`^(?:${PORT_LIST_PATTERN})$`);
  const port = new RegExp(`^(?:${PORT_PATTERN})$`);

  it.each(['1', '22', '65535', '443,22,443', '1,2,3,4,5'])('matches %j, which the parser accepts', (raw) => {
    expect(list.test(raw)).toBe(true);
    expect(() => parsePortList(raw, 10)).not.toThrow();
  });

  it.each([
    '',
    ',',
    '22,',
    ',22',
    '22,,80',
    '22 80',
    '22, 80',
    '080',
    '0',
    'abc',
    '22;80',
  ])('does not match %j, which the parser refuses', (raw) => {
    expect(list.test(raw)).toBe(false);
    expect(() => parsePortList(raw, 10)).toThrow(PortSyntaxError);
  });

  it('matches one port without a list', () => {
    expect(port.test('443')).toBe(true);
    expect(port.test('22,80')).toBe(false);
  });
});

describe('printable', () => {
  it('keeps a value of up to 40 characters whole and cuts a longer one with an ellipsis', () => {
    const forty = '9'.repeat(40);
    expect(printable(forty)).toBe(forty);
    expect(printable(`${forty}12`)).toBe(`${forty}…`);
    expect(printable('abcdef', 3)).toBe('abc…');
  });

  it('shows control characters as question marks', () => {
    expect(printable('8\u0000\n\u007f\u009f0')).toBe('8????0');
  });

  it('bounds the value a refusal echoes', () => {
    expect(() => parsePort('9'.repeat(50))).toThrow(`"${'9'.repeat(40)}…" is not a TCP port`);
  });
});
