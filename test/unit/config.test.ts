import { describe, expect, it } from 'vitest';
import { ConfigError, formatRegions, loadConfig } from '../../functions/core/config.ts';

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

describe('loadConfig bounds and messages', () => {
  // Each whole-number setting with its bounds, and the other settings it must fit with.
  const bounds = [
    {
      name: 'RATE_LIMIT_PER_MINUTE',
      key: 'ratePerMinute',
      min: 1,
      max: 100_000,
      env: { MAX_PORTS: '1', RATE_LIMIT_PER_DAY: '10000000' },
    },
    {
      name: 'RATE_LIMIT_PER_DAY',
      key: 'ratePerDay',
      min: 1,
      max: 10_000_000,
      env: { RATE_LIMIT_PER_MINUTE: '1', MAX_PORTS: '1' },
    },
    { name: 'MAX_PORTS', key: 'maxPorts', min: 1, max: 100, env: { RATE_LIMIT_PER_MINUTE: '100' } },
    { name: 'PROBE_TIMEOUT_MS', key: 'probeTimeoutMs', min: 100, max: 20_000, env: {} },
    { name: 'PROBE_ATTEMPTS', key: 'probeAttempts', min: 1, max: 8, env: {} },
  ] as const;

  it.each(bounds)('$name accepts $min and $max', ({ name, key, min, max, env }) => {
    expect(loadConfig({ ...env, [name]: String(min) })[key]).toBe(min);
    expect(loadConfig({ ...env, [name]: String(max) })[key]).toBe(max);
  });

  it.each(bounds)('$name rejects one past either bound, saying the range', ({ name, min, max, env }) => {
    expect(() => loadConfig({ ...env, [name]: String(max + 1) })).toThrow(
      `${name} must be from ${min} to ${max}, got ${max + 1}`,
    );
    if (min > 0) {
      expect(() => loadConfig({ ...env, [name]: String(min - 1) })).toThrow(
        `${name} must be from ${min} to ${max}, got ${min - 1}`,
      );
    }
    expect(() => loadConfig({ ...env, [name]: '2.5' })).toThrow(
      `${name} must be a whole number from ${min} to ${max}, got "2.5"`,
    );
  });

  it('trims values and treats empty or blank ones as unset', () => {
    expect(loadConfig({ PROBE_TIMEOUT_MS: ' 1500 ', TABLE_NAME: ' counters ' })).toMatchObject({
      probeTimeoutMs: 1500,
      tableName: 'counters',
    });
    expect(loadConfig({ PROBE_TIMEOUT_MS: '', TABLE_NAME: '   ', AWS_REGION: ' ' })).toMatchObject({
      probeTimeoutMs: 3000,
      tableName: 'dialback-rate-limits',
      region: 'us-east-1',
      checkedFrom: 'local',
    });
  });

  it('lets the daily budget equal the per-minute one, and MAX_PORTS equal it too', () => {
    const config = loadConfig({ RATE_LIMIT_PER_MINUTE: '20', RATE_LIMIT_PER_DAY: '20', MAX_PORTS: '20' });
    expect(config).toMatchObject({ ratePerMinute: 20, ratePerDay: 20, maxPorts: 20 });
    expect(() => loadConfig({ RATE_LIMIT_PER_MINUTE: '20', RATE_LIMIT_PER_DAY: '19', MAX_PORTS: '5' })).toThrow(
      'RATE_LIMIT_PER_DAY (19) must not be below RATE_LIMIT_PER_MINUTE (20)',
    );
    expect(() => loadConfig({ RATE_LIMIT_PER_MINUTE: '20', MAX_PORTS: '21' })).toThrow(
      'MAX_PORTS (21) must not exceed RATE_LIMIT_PER_MINUTE (20)',
    );
  });

  it('checks the whole table name: 3 to 255 of DynamoDB characters', () => {
    expect(loadConfig({ TABLE_NAME: 'a_b' }).tableName).toBe('a_b');
    expect(loadConfig({ TABLE_NAME: 'x'.repeat(255) }).tableName).toBe('x'.repeat(255));
    for (const bad of ['ab', 'x'.repeat(256), 'my table', 'table!', '!table', 'täble']) {
      expect(() => loadConfig({ TABLE_NAME: bad })).toThrow(`TABLE_NAME "${bad}" is not a valid DynamoDB table name`);
    }
  });

  it('takes the region from AWS_REGION, us-east-1 when unset', () => {
    expect(loadConfig({}).region).toBe('us-east-1');
    expect(loadConfig({ AWS_REGION: 'ap-south-1' }).region).toBe('ap-south-1');
  });

  it('says where it checks from: CHECKED_FROM, else the region, else "local"', () => {
    expect(loadConfig({}).checkedFrom).toBe('local');
    expect(loadConfig({ AWS_REGION: 'eu-west-1' }).checkedFrom).toBe('eu-west-1');
    expect(loadConfig({ AWS_REGION: 'eu-west-1', CHECKED_FROM: 'Frankfurt' }).checkedFrom).toBe('Frankfurt');
  });

  it('takes an HMAC key of 16 characters or more, and the secret ARN as given', () => {
    expect(loadConfig({}).rateLimitKey).toBeUndefined();
    expect(loadConfig({ RATE_LIMIT_KEY: 'k'.repeat(16) }).rateLimitKey).toBe('k'.repeat(16));
    expect(() => loadConfig({ RATE_LIMIT_KEY: 'k'.repeat(15) })).toThrow(
      'RATE_LIMIT_KEY must be at least 16 characters long',
    );
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:dialback-key-AbCdEf';
    expect(loadConfig({ RATE_LIMIT_KEY_SECRET_ARN: arn }).rateLimitKeySecretArn).toBe(arn);
    expect(loadConfig({}).rateLimitKeySecretArn).toBeUndefined();
  });

  it('reads IPV6_EGRESS as true/1 or false/0, true when unset', () => {
    expect(loadConfig({}).ipv6Egress).toBe(true);
    for (const yes of ['true', '1', ' true ']) expect(loadConfig({ IPV6_EGRESS: yes }).ipv6Egress).toBe(true);
    for (const no of ['false', '0']) expect(loadConfig({ IPV6_EGRESS: no }).ipv6Egress).toBe(false);
    for (const bad of ['TRUE', 'yes', '2']) {
      expect(() => loadConfig({ IPV6_EGRESS: bad })).toThrow(`IPV6_EGRESS must be true or false, got "${bad}"`);
    }
  });

  it('reads EGRESS_ADDRESSES as a trimmed list of addresses and ranges, empty when unset', () => {
    expect(loadConfig({}).egressAddresses).toEqual([]);
    const config = loadConfig({
      EGRESS_ADDRESSES: ' 198.51.100.7 , 2001:db8::/56,,198.51.100.0/32, 2001:db8:1::/128 ,203.0.113.0/0',
    });
    expect(config.egressAddresses).toEqual([
      '198.51.100.7',
      '2001:db8::/56',
      '198.51.100.0/32',
      '2001:db8:1::/128',
      '203.0.113.0/0',
    ]);
    expect(Object.isFrozen(config.egressAddresses)).toBe(true);
  });

  it.each([
    'example.com',
    '/24',
    '198.51.100.0/',
    '198.51.100.0/0032',
    '198.51.100.0/3x',
    '198.51.100.0/-1',
    '198.51.100.0/24/8',
    '2001:db8::/1280',
  ])('rejects EGRESS_ADDRESSES item %j', (item) => {
    expect(() => loadConfig({ EGRESS_ADDRESSES: `198.51.100.1,${item}` })).toThrow(
      `EGRESS_ADDRESSES has "${item}", which is not an IP address or CIDR range`,
    );
  });

  it('reads CORS_ALLOW_ORIGINS as a trimmed list, skipping empty entries', () => {
    expect(
      loadConfig({ CORS_ALLOW_ORIGINS: ' https://a.example ,, https://b.example:8443 ' }).corsAllowOrigins,
    ).toEqual(['https://a.example', 'https://b.example:8443']);
    expect(loadConfig({ CORS_ALLOW_ORIGINS: ' * ' }).corsAllowOrigins).toEqual(['*']);
  });

  it.each([
    ['not a url', 'CORS_ALLOW_ORIGINS has "not a url", which is not an origin like https://example.com'],
    ['https://a.example/', 'CORS_ALLOW_ORIGINS has "https://a.example/"; write it as its origin, "https://a.example"'],
    ['*,https://a.example', 'CORS_ALLOW_ORIGINS cannot mix "*" with named origins'],
    [',', 'CORS_ALLOW_ORIGINS must name at least one origin or "*"'],
  ])('rejects CORS_ALLOW_ORIGINS %j, saying why', (value, message) => {
    expect(() => loadConfig({ CORS_ALLOW_ORIGINS: value })).toThrow(message);
  });

  it('takes http and https DynamoDB endpoints only', () => {
    expect(loadConfig({ DYNAMODB_ENDPOINT: 'https://dynamodb.example:443' }).dynamodbEndpoint).toBe(
      'https://dynamodb.example:443',
    );
    expect(loadConfig({ DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' }).dynamodbEndpoint).toBe('http://127.0.0.1:8000');
    for (const bad of ['ftp://127.0.0.1:8000', 'file:///tmp/db']) {
      expect(() => loadConfig({ DYNAMODB_ENDPOINT: bad })).toThrow(
        `DYNAMODB_ENDPOINT must be an http(s) URL, got "${bad}"`,
      );
    }
  });

  it('throws a ConfigError by name, so start-up logs say what failed', () => {
    let thrown: unknown;
    try {
      loadConfig({ MAX_PORTS: 'many' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).name).toBe('ConfigError');
  });
});

describe('loadConfig: REGIONS', () => {
  it('lists no regions unless told', () => {
    expect(loadConfig({}).regions).toEqual([]);
  });

  it('reads name=url pairs, this region first, as base URLs', () => {
    const regions = [
      { name: 'eu-central-1', api: 'https://a1.execute-api.eu-central-1.amazonaws.com' },
      { name: 'us-east-1', api: 'https://b2.execute-api.us-east-1.amazonaws.com' },
    ];
    const config = loadConfig({ AWS_REGION: 'eu-central-1', REGIONS: `${formatRegions(regions)}/` });
    expect(config.regions).toEqual(regions);
    expect(Object.isFrozen(config.regions)).toBe(true);
    expect(
      loadConfig({ CHECKED_FROM: 'lab-a', REGIONS: ' lab-a = http://198.18.1.1:8787 ,lab-b=http://198.18.2.1:8787' })
        .regions,
    ).toEqual([
      { name: 'lab-a', api: 'http://198.18.1.1:8787' },
      { name: 'lab-b', api: 'http://198.18.2.1:8787' },
    ]);
  });

  it.each([
    [{ REGIONS: 'local' }, /REGIONS has "local"; write each region as name=/],
    [{ REGIONS: '=http://a.example' }, /REGIONS has "=http:\/\/a.example"/],
    [{ REGIONS: 'Local=http://a.example' }, /REGIONS has "Local=/],
    [{ REGIONS: 'local=ftp://a.example' }, /REGIONS \(local\) must be an http\(s\) URL/],
    [{ REGIONS: 'local=https://a.example?x=1' }, /REGIONS \(local\) must be a base URL/],
    [{ REGIONS: 'local=' }, /REGIONS \(local\) must be an http\(s\) URL, got ""/],
    [{ REGIONS: 'local=http://a.example,local=http://b.example' }, /REGIONS names local twice/],
    [{ REGIONS: 'us-east-1=http://a.example,local=http://b.example' }, /must list this region \(local\) first/],
  ])('fails on %j with a message naming REGIONS', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
