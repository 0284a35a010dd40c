import { describe, expect, it } from 'vitest';
import { familyRefusal, normalizeApi } from '../../functions/cli/api-url.ts';
import { UsageError } from '../../functions/cli/explain.ts';

describe('--api', () => {
  it.each([
    ['127.0.0.1:8787', 'http://127.0.0.1:8787'],
    ['localhost:8787', 'http://localhost:8787'],
    ['[::1]:8787', 'http://[::1]:8787'],
    ['192.168.1.20:8787', 'http://192.168.1.20:8787'],
    ['[fd00::5]:8787', 'http://[fd00::5]:8787'],
    ['abc123.execute-api.eu-central-1.amazonaws.com', 'https://abc123.execute-api.eu-central-1.amazonaws.com'],
    ['1.1.1.1', 'https://1.1.1.1'],
    ['8.8.8.8:443', 'https://8.8.8.8'],
    ['http://api.example/', 'http://api.example'],
    ['HTTPS://api.example/base/', 'https://api.example/base'],
  ])('reads %s as %s', (given, url) => {
    expect(normalizeApi(given)).toBe(url);
  });

  it.each([
    'ftp://api.example',
    'https://api.example/?x=1',
    'https://user:pw@api.example',
    'http://',
    'a b',
  ])('refuses %s with a usage error', (given) => {
    expect(() => normalizeApi(given)).toThrow(UsageError);
  });

  it.each([
    ['127.0.0.1:8787/check', '/check'],
    ['http://127.0.0.1:8787/check/22', '/check/22'],
    ['https://api.example/prod/ip', '/ip'],
    ['https://api.example/openapi.json', '/openapi.json'],
  ])('refuses %s, a URL with a route in it, naming the part to drop', (given, route) => {
    expect(() => normalizeApi(given)).toThrow(`drop "${route}"`);
  });

  it('keeps a base path that is not a route (an API Gateway stage, a prefix)', () => {
    expect(normalizeApi('https://api.example/prod/checker')).toBe('https://api.example/prod/checker');
  });

  it('refuses a family the API literal cannot give, and allows host names and matching literals', () => {
    expect(familyRefusal('http://127.0.0.1:8787', 6)).toMatch(/^-6 asks for an IPv6 check, but the API 127\.0\.0\.1/);
    expect(familyRefusal('http://[::1]:8787', 4)).toMatch(/^-4 asks for an IPv4 check, but the API ::1/);
    expect(familyRefusal('http://127.0.0.1:8787', 4)).toBeUndefined();
    expect(familyRefusal('https://api.example', 6)).toBeUndefined();
  });
});
