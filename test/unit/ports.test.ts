import { describe, expect, it } from 'vitest';
import { parsePort, parsePortList } from '../../functions/contract/wire.ts';
import { BadRequest } from '../../functions/core/errors.ts';

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
  ])('refuses %j with a BadRequest naming the value', (raw) => {
    expect(() => parsePort(raw)).toThrow(BadRequest);
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
    '',
    ',',
    '22,',
    ',22',
    '22,,80',
    '22;80',
    '22 80',
    '22, 80',
    '22\t80',
    '22\n',
    '22,abc',
  ])('refuses the malformed list %j', (raw) => {
    expect(() => parsePortList(raw, 10)).toThrow(BadRequest);
  });

  it('refuses an over-long list before splitting it', () => {
    expect(() => parsePortList('1,'.repeat(4096), 10)).toThrow(/8192 characters long; at most 1024 characters/);
  });
});
