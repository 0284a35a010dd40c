import { describe, expect, it } from 'vitest';
import { readSettings, SETTING_DEFAULTS, SettingsError } from '../../infra/aws/settings.ts';

function read(context: Record<string, unknown>) {
  return readSettings((key) => context[key], Object.keys(context));
}

describe('readSettings', () => {
  it('gives the documented defaults when nothing is set', () => {
    const settings = read({});
    expect(settings).toEqual({ ...SETTING_DEFAULTS, corsOrigins: ['*'] });
    expect(settings.egress).toBe('default');
    expect(settings).not.toHaveProperty('alarmEmail');
    expect(settings).not.toHaveProperty('reservedConcurrency');
  });

  it('reads -c strings and cdk.json numbers and lists alike', () => {
    const settings = read({
      region: 'eu-central-1',
      egress: 'vpc',
      ratePerMinute: '60',
      ratePerDay: 1000,
      maxPorts: '20',
      probeTimeoutMs: '5000',
      corsOrigins: ['https://a.example', 'https://b.example'],
      memoryMb: '512',
      logRetentionDays: 90,
      throttleRate: '20',
      throttleBurst: '40',
      alarmEmail: 'ops@example.com',
      reservedConcurrency: '5',
    });
    expect(settings).toEqual({
      region: 'eu-central-1',
      egress: 'vpc',
      ratePerMinute: 60,
      ratePerDay: 1000,
      maxPorts: 20,
      probeTimeoutMs: 5000,
      corsOrigins: ['https://a.example', 'https://b.example'],
      memoryMb: 512,
      logRetentionDays: 90,
      throttleRate: 20,
      throttleBurst: 40,
      alarmEmail: 'ops@example.com',
      reservedConcurrency: 5,
    });
  });

  it('takes a directory with the four dataset files for holdersDir', () => {
    expect(read({ holdersDir: 'test/fixtures/holders-dir' }).holdersDir).toBe('test/fixtures/holders-dir');
  });

  it('reads a comma-separated origin list from the command line', () => {
    expect(read({ corsOrigins: 'https://a.example,https://b.example' }).corsOrigins).toEqual([
      'https://a.example',
      'https://b.example',
    ]);
  });

  it.each([
    [{ ratePerMinute: 'abc' }, /context ratePerMinute must be a whole number.*"abc"/],
    [{ ratePerMinute: '0' }, /context ratePerMinute must be from 1/],
    [{ ratePerDay: '10', ratePerMinute: '20', maxPorts: '5' }, /context ratePerDay \(10\) must not be below/],
    [{ maxPorts: '50' }, /context maxPorts \(50\) must not exceed context ratePerMinute \(30\)/],
    [{ probeTimeoutMs: '60000' }, /context probeTimeoutMs must be from 100 to 20000, got 60000/],
    [{ corsOrigins: 'example.com' }, /context corsOrigins has "example.com", which is not an origin/],
    [{ corsOrigins: 'https://a.example/path' }, /context corsOrigins has "https:\/\/a.example\/path"/],
    [{ egress: 'nat' }, /context egress="nat" is not an egress mode \(default or vpc\)/],
    [{ egress: 'VPC' }, /context egress="VPC" is not an egress mode/],
    [{ Egress: 'vpc' }, /context Egress="vpc" is not a setting; did you mean egress\?/],
    [{ region: 'Frankfurt' }, /context region="Frankfurt" is not an AWS region name/],
    [{ memoryMb: '64' }, /context memoryMb="64" must be a whole number from 128 to 10240/],
    [{ memoryMb: '1.5' }, /context memoryMb="1.5"/],
    [{ logRetentionDays: '10' }, /context logRetentionDays="10" is not a retention CloudWatch Logs accepts/],
    [{ throttleRate: '-1' }, /context throttleRate="-1"/],
    [{ throttleBurst: '1e3' }, /context throttleBurst="1e3"/],
    [{ alarmEmail: 'not-an-address' }, /context alarmEmail="not-an-address" is not an e-mail address/],
    [{ holdersDir: '/nonexistent/holders' }, /context holdersDir="\/nonexistent\/holders": .* lacks asn-ipv4-num\.csv/],
    [{ holdersDir: 'test/fixtures' }, /context holdersDir="test\/fixtures": test\/fixtures lacks asn-ipv4-num\.csv, /],
    [{ reservedConcurrency: '0' }, /context reservedConcurrency="0" must be a whole number from 1/],
    [{ ratePerminute: '10' }, /context ratePerminute="10" is not a setting; did you mean ratePerMinute\?/],
    [{ region: { name: 'eu-west-1' } }, /context region must be a plain value/],
    [{ regions: 'eu-central-1,Frankfurt' }, /context regions="eu-central-1,Frankfurt" has "Frankfurt", which is not/],
    [{ regions: 'eu-central-1,,us-east-1' }, /has "", which is not an AWS region name/],
    [{ regions: 'eu-central-1,us-east-1,eu-central-1' }, /names eu-central-1 twice/],
    [{ regions: 'us-east-1,cn-north-1' }, /mixes AWS partitions \(aws, aws-cn\)/],
    [
      { regions: 'us-east-1,eu-west-1', region: 'us-east-1' },
      /context region and regions="us-east-1,eu-west-1" are both given/,
    ],
    [{ Regions: 'us-east-1,eu-west-1' }, /did you mean regions\?/],
    [{ azs: 'us-east-1a,us-east-1b' }, /context azs="us-east-1a,us-east-1b" applies to egress=vpc only/],
    [{ egress: 'vpc', azs: 'us-east-1a' }, /must name at least two different zones of us-east-1/],
    [{ egress: 'vpc', azs: 'us-east-1a,us-east-1a' }, /must name at least two different zones/],
    [
      { egress: 'vpc', azs: 'us-east-1a,eu-west-1b' },
      /has "eu-west-1b", which is not an availability zone of us-east-1/,
    ],
    [{ egress: 'vpc', azs: 'us-east-1a,use1-az4' }, /has "use1-az4", which is not an availability zone/],
    [
      { egress: 'vpc', regions: 'us-east-1,eu-west-1', azs: 'us-east-1a,us-east-1b' },
      /names one region's zones; it cannot go with regions/,
    ],
    [
      { regions: Array.from({ length: 11 }, (_, i) => `eu-west-${i + 1}`) },
      /names 11 regions; at most 10 are supported/,
    ],
  ])('refuses %j, naming the key and the value', (context, message) => {
    expect(() => read(context)).toThrow(SettingsError);
    expect(() => read(context)).toThrow(message);
  });

  it('reads azs for vpc mode, as -c text or a cdk.json list', () => {
    expect(read({ region: 'eu-central-1', egress: 'vpc', azs: 'eu-central-1b,eu-central-1c' }).azs).toEqual([
      'eu-central-1b',
      'eu-central-1c',
    ]);
    expect(read({ egress: 'vpc', azs: ['us-east-1a', 'us-east-1f'] }).azs).toEqual(['us-east-1a', 'us-east-1f']);
    expect(read({ egress: 'vpc' })).not.toHaveProperty('azs');
  });

  it('reads regions, primary first, from -c or a cdk.json list; the primary is the region', () => {
    for (const regions of ['eu-central-1,us-east-1,ap-southeast-1', ['eu-central-1', 'us-east-1', 'ap-southeast-1']]) {
      const settings = read({ regions });
      expect(settings.regions).toEqual(['eu-central-1', 'us-east-1', 'ap-southeast-1']);
      expect(settings.region).toBe('eu-central-1');
    }
  });

  it('takes one region named in regions as the one-region deployment', () => {
    expect(read({ regions: 'eu-west-1' })).toEqual(read({ region: 'eu-west-1' }));
    expect(read({ regions: 'eu-west-1' })).not.toHaveProperty('regions');
  });

  it('ignores context keys that are not its own, such as CDK feature flags', () => {
    expect(read({ '@aws-cdk/core:newStyleStackSynthesis': true, 'cli-telemetry': false }).region).toBe('us-east-1');
  });
});
