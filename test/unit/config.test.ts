import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../functions/core/config.ts';

describe('loadConfig', () => {
  it('applies the defaults of DESIGN §5', () => {
    const config = loadConfig({ AWS_REGION: 'eu-central-1' });
    expect(config).toMatchObject({
      tableName: 'dialback-rate-limits',
      dynamodbEndpoint: undefined,
      ratePerMinute: 30,
      ratePerDay: 500,
      maxPorts: 10,
      probeTimeoutMs: 3000,
      corsAllowOrigins: ['*'],
      checkedFrom: 'eu-central-1',
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads every setting', () => {
    const config = loadConfig({
      TABLE_NAME: 'counters',
      DYNAMODB_ENDPOINT: 'http://127.0.0.1:4567',
      RATE_LIMIT_PER_MINUTE: '12',
      RATE_LIMIT_PER_DAY: '99',
      MAX_PORTS: '4',
      PROBE_TIMEOUT_MS: '1500',
      CORS_ALLOW_ORIGINS: 'https://a.example, https://b.example',
      CHECKED_FROM: 'lab',
      RATE_LIMIT_KEY: 'k'.repeat(32),
    });
    expect(config).toMatchObject({
      tableName: 'counters',
      dynamodbEndpoint: 'http://127.0.0.1:4567',
      ratePerMinute: 12,
      ratePerDay: 99,
      maxPorts: 4,
      probeTimeoutMs: 1500,
      corsAllowOrigins: ['https://a.example', 'https://b.example'],
      checkedFrom: 'lab',
    });
  });

  it.each([
    [{ RATE_LIMIT_PER_MINUTE: 'ten' }, /RATE_LIMIT_PER_MINUTE/],
    [{ RATE_LIMIT_PER_MINUTE: '0' }, /RATE_LIMIT_PER_MINUTE/],
    [{ RATE_LIMIT_PER_MINUTE: '-3' }, /RATE_LIMIT_PER_MINUTE/],
    [{ RATE_LIMIT_PER_DAY: '5' }, /RATE_LIMIT_PER_DAY/],
    [{ MAX_PORTS: '1.5' }, /MAX_PORTS/],
    [{ MAX_PORTS: '31' }, /MAX_PORTS/],
    [{ PROBE_TIMEOUT_MS: '50' }, /PROBE_TIMEOUT_MS/],
    [{ PROBE_TIMEOUT_MS: '60000' }, /PROBE_TIMEOUT_MS/],
    [{ TABLE_NAME: 'a b' }, /TABLE_NAME/],
    [{ DYNAMODB_ENDPOINT: 'localhost:8000' }, /DYNAMODB_ENDPOINT/],
    [{ CORS_ALLOW_ORIGINS: 'https://a.example/path' }, /CORS_ALLOW_ORIGINS/],
    [{ CORS_ALLOW_ORIGINS: '*,https://a.example' }, /CORS_ALLOW_ORIGINS/],
    [{ CORS_ALLOW_ORIGINS: ' , ' }, /CORS_ALLOW_ORIGINS/],
    [{ RATE_LIMIT_KEY: 'short' }, /RATE_LIMIT_KEY/],
    [{ IPV6_EGRESS: 'maybe' }, /IPV6_EGRESS/],
    [{ EGRESS_ADDRESSES: '3.4.5' }, /EGRESS_ADDRESSES/],
    [{ EGRESS_ADDRESSES: '2001:db8::/129' }, /EGRESS_ADDRESSES/],
    [{ EGRESS_ADDRESSES: '198.51.100.1/33' }, /EGRESS_ADDRESSES/],
    [{ API_URL_IPV4: 'abc.execute-api.eu-central-1.amazonaws.com' }, /API_URL_IPV4/],
    [{ API_URL_IPV4: 'ftp://abc.example' }, /API_URL_IPV4/],
    [{ API_URL_IPV4: 'https://user:pw@abc.example' }, /API_URL_IPV4/],
    [{ API_URL_IPV4: 'https://abc.example/?x=1' }, /API_URL_IPV4/],
    [{ API_URL_DUAL_STACK: 'https://abc.example#top' }, /API_URL_DUAL_STACK/],
    [{ API_URL_DUAL_STACK: 'https://abc.example', IPV6_EGRESS: 'false' }, /API_URL_DUAL_STACK.*IPV6_EGRESS/],
  ])('fails on %j with a message naming the variable', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });

  it('reports no endpoint of either family unless told', () => {
    expect(loadConfig({}).endpoints).toEqual({ ipv4: null, dualStack: null });
  });

  it('reads the two endpoints as base URLs without a trailing slash, keeping a base path', () => {
    const config = loadConfig({
      API_URL_IPV4: 'https://abc123.execute-api.eu-central-1.amazonaws.com/',
      API_URL_DUAL_STACK: ' http://[::1]:8787/api/v1// ',
    });
    expect(config.endpoints).toEqual({
      ipv4: 'https://abc123.execute-api.eu-central-1.amazonaws.com',
      dualStack: 'http://[::1]:8787/api/v1',
    });
    expect(Object.isFrozen(config.endpoints)).toBe(true);
  });

  it('accepts an IPv4 endpoint alone on a deployment that cannot dial IPv6', () => {
    const config = loadConfig({ API_URL_IPV4: 'https://abc.example', IPV6_EGRESS: 'false' });
    expect(config.endpoints).toEqual({ ipv4: 'https://abc.example', dualStack: null });
  });

  // Non-public targets are only the local server's --allow-non-public flag, never a setting.
  it('has no setting that enables non-public targets', () => {
    const config = loadConfig({});
    const keys = Object.keys(config);
    expect(keys.length).toBeGreaterThan(5);
    expect(keys.filter((k) => /public|target|policy/i.test(k))).toEqual([]);
  });
});
