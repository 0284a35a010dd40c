/**
 * The `vpc` egress mode as synthesized: the dual-stack network, how the function sits
 * in it, what it is told about its egress, its extra permissions, the outputs, and cdk-nag.
 * The stack is synthesized once, without bundling; the default mode is covered in stack.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/core/config.ts';
import { NETWORK_INTERFACE_ACTIONS } from '../../infra/aws/egress.ts';
import type { DialbackStack } from '../../infra/aws/stack.ts';
import { acknowledgments } from '../support/acknowledgments.ts';
import { HARNESS } from '../support/bundle-harness.ts';
import { buildStack } from '../support/synth.ts';

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };

let outdir: string;
let stack: DialbackStack;
let template: Template;
let resources: Record<string, Resource>;

beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), 'dialback-egress-'));
  stack = buildStack({ outdir, context: { egress: 'vpc' }, bundle: false }).stack;
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Record<string, Resource>;
});

afterAll(async () => {
  if (outdir !== undefined) await rm(outdir, { recursive: true, force: true });
});

/** Logical IDs of the resources of `type`, optionally narrowed by a predicate on the resource. */
function ids(type: string, where: (r: Resource) => boolean = () => true): string[] {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === type && where(r))
    .map(([id]) => id)
    .sort();
}

function only(type: string): string {
  const found = ids(type);
  expect(found, type).toHaveLength(1);
  return found[0] as string;
}

/** The function's properties, as far as these tests read them. */
interface FunctionProperties {
  readonly VpcConfig: unknown;
  readonly Environment: { readonly Variables: Record<string, unknown> };
}

function fn(): FunctionProperties {
  return resources[only('AWS::Lambda::Function')]?.Properties as unknown as FunctionProperties;
}

function subnets(kind: 'Public' | 'Private'): string[] {
  return ids('AWS::EC2::Subnet', (r) =>
    (r.Properties.Tags as Array<{ Key: string; Value: string }>).some(
      (t) => t.Key === 'aws-cdk:subnet-name' && t.Value === kind,
    ),
  );
}

/** The route table associated with `subnet`, as the `{ Ref }` the template uses. */
function routeTable(subnet: string): unknown {
  return Object.values(resources).find(
    (r) =>
      r.Type === 'AWS::EC2::SubnetRouteTableAssociation' && (r.Properties.SubnetId as { Ref: string }).Ref === subnet,
  )?.Properties.RouteTableId;
}

/** Logical IDs of the routes in `subnet`'s route table. */
function routeIds(subnet: string): string[] {
  const table = JSON.stringify(routeTable(subnet));
  return ids('AWS::EC2::Route', (r) => JSON.stringify(r.Properties.RouteTableId) === table);
}

/** The routes of `subnet`, as `destination → target`. */
function routesOf(subnet: string): Record<string, unknown> {
  const routes = routeIds(subnet).map((id) => resources[id] as Resource);
  return Object.fromEntries(
    routes.map((r) => {
      const { DestinationCidrBlock, DestinationIpv6CidrBlock, RouteTableId: _, ...target } = r.Properties;
      return [DestinationCidrBlock ?? DestinationIpv6CidrBlock, target];
    }),
  );
}

/**
 * Evaluates the few intrinsics the function's environment uses, with `attributes` standing in
 * for what CloudFormation would return (`"<logicalId>.<attribute>"` → value).
 */
function evaluate(value: unknown, attributes: Record<string, unknown>): unknown {
  if (typeof value === 'string' || Array.isArray(value)) return value;
  const node = value as Record<string, unknown>;
  if ('Fn::GetAtt' in node) {
    const [id, attribute] = node['Fn::GetAtt'] as [string, string];
    const result = attributes[`${id}.${attribute}`];
    if (result === undefined) throw new Error(`no stand-in for ${id}.${attribute}`);
    return result;
  }
  if ('Fn::Select' in node) {
    const [index, list] = node['Fn::Select'] as [number, unknown];
    return (evaluate(list, attributes) as unknown[])[index];
  }
  if ('Fn::Join' in node) {
    const [separator, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => evaluate(p, attributes)).join(separator);
  }
  throw new Error(`cannot evaluate ${JSON.stringify(value)}`);
}

describe('egress=vpc: the network', () => {
  it('adds exactly a dual-stack VPC, one NAT gateway with its Elastic IP, an EIGW, a DynamoDB endpoint and a security group', () => {
    const counts: Record<string, number> = {
      'AWS::EC2::VPC': 1,
      'AWS::EC2::VPCCidrBlock': 1,
      'AWS::EC2::Subnet': 4,
      'AWS::EC2::RouteTable': 4,
      'AWS::EC2::SubnetRouteTableAssociation': 4,
      'AWS::EC2::Route': 8,
      'AWS::EC2::InternetGateway': 1,
      'AWS::EC2::VPCGatewayAttachment': 1,
      'AWS::EC2::EgressOnlyInternetGateway': 1,
      'AWS::EC2::NatGateway': 1,
      'AWS::EC2::EIP': 1,
      'AWS::EC2::VPCEndpoint': 1,
      'AWS::EC2::SecurityGroup': 1,
    };
    for (const [type, count] of Object.entries(counts)) template.resourceCountIs(type, count);
    const ec2Types = new Set(Object.values(resources).map((r) => r.Type));
    expect([...ec2Types].filter((t) => t.startsWith('AWS::EC2::')).sort()).toEqual(Object.keys(counts).sort());
    // The function's own role gains one policy (the network interfaces); nothing else changes.
    template.resourceCountIs('AWS::IAM::Policy', 2);
    template.resourceCountIs('AWS::Lambda::Function', 1);
  });

  it('asks Amazon for an IPv6 block for the VPC', () => {
    template.hasResourceProperties('AWS::EC2::VPCCidrBlock', {
      AmazonProvidedIpv6CidrBlock: true,
      VpcId: { Ref: only('AWS::EC2::VPC') },
    });
  });

  it('gives every subnet a /64 of that block and IPv6 addresses, over two availability zones', () => {
    const vpc = only('AWS::EC2::VPC');
    for (const id of ids('AWS::EC2::Subnet')) {
      const properties = resources[id]?.Properties;
      expect(properties?.AssignIpv6AddressOnCreation, id).toBe(true);
      expect(properties?.Ipv6CidrBlock, id).toEqual({
        'Fn::Select': [
          expect.any(Number),
          { 'Fn::Cidr': [{ 'Fn::Select': [0, { 'Fn::GetAtt': [vpc, 'Ipv6CidrBlocks'] }] }, 4, '64'] },
        ],
      });
      expect(resources[id]?.DependsOn, id).toContain(only('AWS::EC2::VPCCidrBlock'));
    }
    const zones = ids('AWS::EC2::Subnet').map((id) => JSON.stringify(resources[id]?.Properties.AvailabilityZone));
    expect(new Set(zones).size).toBe(2);
    expect(subnets('Public')).toHaveLength(2);
    expect(subnets('Private')).toHaveLength(2);
  });

  it('puts the subnets in the zones the deployer names with -c azs', () => {
    const named = buildStack({
      outdir: join(outdir, 'azs'),
      context: { egress: 'vpc', region: 'eu-central-1', azs: 'eu-central-1b,eu-central-1c' },
      bundle: false,
    }).stack;
    const subnetZones = Object.values(Template.fromStack(named).findResources('AWS::EC2::Subnet')).map(
      (r) => r.Properties.AvailabilityZone,
    );
    expect(subnetZones).toHaveLength(4);
    expect([...new Set(subnetZones)].sort()).toEqual(['eu-central-1b', 'eu-central-1c']);
  });

  it('routes the private subnets IPv4 through the NAT gateway and IPv6 through the egress-only gateway', () => {
    const nat = only('AWS::EC2::NatGateway');
    const eigw = only('AWS::EC2::EgressOnlyInternetGateway');
    for (const subnet of subnets('Private')) {
      expect(routesOf(subnet)).toEqual({
        '0.0.0.0/0': { NatGatewayId: { Ref: nat } },
        '::/0': { EgressOnlyInternetGatewayId: { Ref: eigw } },
      });
    }
  });

  it('routes the public subnets (the NAT gateway lives there) to the internet gateway', () => {
    const igw = only('AWS::EC2::InternetGateway');
    for (const subnet of subnets('Public')) {
      expect(routesOf(subnet)).toEqual({
        '0.0.0.0/0': { GatewayId: { Ref: igw } },
        '::/0': { GatewayId: { Ref: igw } },
      });
    }
  });

  it('puts the one NAT gateway in a public subnet, on the stack’s own Elastic IP', () => {
    const eip = only('AWS::EC2::EIP');
    template.hasResourceProperties('AWS::EC2::EIP', { Domain: 'vpc' });
    const natGateway = resources[only('AWS::EC2::NatGateway')]?.Properties;
    expect(natGateway?.AllocationId).toEqual({ 'Fn::GetAtt': [eip, 'AllocationId'] });
    expect(subnets('Public')).toContainEqual((natGateway?.SubnetId as { Ref: string }).Ref);
  });

  it('sends DynamoDB traffic of the private subnets through a gateway endpoint instead of the NAT gateway', () => {
    const endpoint = resources[only('AWS::EC2::VPCEndpoint')]?.Properties;
    expect(endpoint?.VpcEndpointType).toBe('Gateway');
    expect(JSON.stringify(endpoint?.ServiceName)).toContain('.dynamodb');
    const privateTables = subnets('Private').map((s) => JSON.stringify(routeTable(s)));
    expect((endpoint?.RouteTableIds as unknown[]).map((t) => JSON.stringify(t)).sort()).toEqual(privateTables.sort());
  });
});

describe('egress=vpc: the function', () => {
  it('runs in the private subnets with IPv6 allowed, in its own security group', () => {
    expect(fn().VpcConfig).toEqual({
      Ipv6AllowedForDualStack: true,
      SubnetIds: subnets('Private').map((s) => ({ Ref: s })),
      SecurityGroupIds: [{ 'Fn::GetAtt': [only('AWS::EC2::SecurityGroup'), 'GroupId'] }],
    });
  });

  it('may open TCP connections and send UDP to any address and port of either family, and accepts only ICMP errors', () => {
    const group = resources[only('AWS::EC2::SecurityGroup')]?.Properties;
    expect(group?.SecurityGroupEgress).toEqual([
      expect.objectContaining({ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 0, ToPort: 65535 }),
      expect.objectContaining({ CidrIpv6: '::/0', IpProtocol: 'tcp', FromPort: 0, ToPort: 65535 }),
      expect.objectContaining({ CidrIp: '0.0.0.0/0', IpProtocol: 'udp', FromPort: 0, ToPort: 65535 }),
      expect.objectContaining({ CidrIpv6: '::/0', IpProtocol: 'udp', FromPort: 0, ToPort: 65535 }),
    ]);
    // Without these the errors behind `closed` and the prohibited verdicts never reach the function.
    expect(group?.SecurityGroupIngress).toEqual([
      expect.objectContaining({ CidrIp: '0.0.0.0/0', IpProtocol: 'icmp', FromPort: 3, ToPort: -1 }),
      expect.objectContaining({ CidrIpv6: '::/0', IpProtocol: 'icmpv6', FromPort: 1, ToPort: -1 }),
      expect.objectContaining({ CidrIpv6: '::/0', IpProtocol: 'icmpv6', FromPort: 2, ToPort: -1 }),
    ]);
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    template.resourceCountIs('AWS::EC2::SecurityGroupEgress', 0);
  });

  it('is told it can dial IPv6 and which addresses its probes leave from: the Elastic IP and the VPC block', () => {
    const env = fn().Environment.Variables;
    expect(env.IPV6_EGRESS).toBe('true');
    expect(env.EGRESS_ADDRESSES).toEqual({
      'Fn::Join': [
        ',',
        [
          { 'Fn::GetAtt': [only('AWS::EC2::EIP'), 'PublicIp'] },
          { 'Fn::Select': [0, { 'Fn::GetAtt': [only('AWS::EC2::VPC'), 'Ipv6CidrBlocks'] }] },
        ],
      ],
    });
    // Non-public targets are only the local server's --allow-non-public flag; no variable may name them.
    expect(Object.keys(env).filter((k) => /PUBLIC|TARGET|POLICY/.test(k))).toEqual([]);
  });

  it('gets an environment its own config loader accepts once CloudFormation fills in the addresses', () => {
    // The shapes AWS returns: a plain IPv4 for the EIP, a /56 for an Amazon-provided VPC block.
    const [eip, block] = HARNESS.egressAddresses.split(',');
    const apis = ids('AWS::ApiGatewayV2::Api');
    const attributes = {
      [`${only('AWS::EC2::EIP')}.PublicIp`]: eip,
      [`${only('AWS::EC2::VPC')}.Ipv6CidrBlocks`]: [block],
      ...Object.fromEntries(apis.map((id) => [`${id}.ApiEndpoint`, `https://${id.toLowerCase()}.example`])),
    };
    const evaluated = new Set(['EGRESS_ADDRESSES', 'API_URL_IPV4', 'API_URL_DUAL_STACK']);
    const raw = fn().Environment.Variables;
    const env = Object.fromEntries(
      Object.entries(raw).map(([name, value]) => [
        name,
        typeof value === 'string' || evaluated.has(name) ? String(evaluate(value, attributes)) : 'stand-in',
      ]),
    );
    const config = loadConfig(env);
    expect(config.ipv6Egress).toBe(true);
    expect(config.egressAddresses).toEqual([eip, block]);
    expect(block).toMatch(/\/56$/);
    expect(config.endpoints.ipv4).toMatch(/^https:\/\/httpapi[0-9a-f]+\.example$/);
    expect(config.endpoints.dualStack).toMatch(/^https:\/\/httpapidualstack[0-9a-f]+\.example$/);
  });

  it('may manage its network interfaces: the EC2 actions Lambda needs, on "*", in a policy of their own', () => {
    const policies = ids('AWS::IAM::Policy', (r) => JSON.stringify(r.Properties).includes('ec2:'));
    expect(policies).toHaveLength(1);
    const policy = resources[policies[0] as string]?.Properties as unknown as {
      PolicyDocument: { Statement: unknown[] };
      Roles: unknown[];
    };
    // cdk.json's minimizePolicies flag sorts the actions.
    expect(policy.PolicyDocument.Statement).toEqual([
      { Effect: 'Allow', Action: [...NETWORK_INTERFACE_ACTIONS].sort(), Resource: '*' },
    ]);
    expect(policy.Roles).toEqual([{ Ref: only('AWS::IAM::Role') }]);
    // No other statement of the role gained a wildcard.
    const others = ids('AWS::IAM::Policy').filter((id) => id !== policies[0]);
    expect(JSON.stringify(others.map((id) => resources[id]?.Properties))).not.toContain('*');
    template.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
  });

  it('keeps those permissions until the security group and private subnets are gone, and creates the function after them', () => {
    const [policy] = ids('AWS::IAM::Policy', (r) => JSON.stringify(r.Properties).includes('ec2:'));
    const mustWait = [
      only('AWS::Lambda::Function'),
      only('AWS::EC2::SecurityGroup'),
      ...subnets('Private'),
      ...subnets('Private').flatMap(routeIds),
    ];
    for (const id of mustWait) expect(resources[id]?.DependsOn, id).toContain(policy);
  });
});

// Its two APIs, one IPv4-only and one dual-stack, are covered with the default mode's one in endpoints.test.ts.
describe('egress=vpc: the outputs', () => {
  it('outputs the Elastic IP and the IPv6 range to allowlist', () => {
    template.hasOutput('EgressIpv4Address', { Value: { 'Fn::GetAtt': [only('AWS::EC2::EIP'), 'PublicIp'] } });
    template.hasOutput('EgressIpv6Range', {
      Value: { 'Fn::Select': [0, { 'Fn::GetAtt': [only('AWS::EC2::VPC'), 'Ipv6CidrBlocks'] }] },
    });
  });
});

describe('egress=vpc: cdk-nag AwsSolutions', () => {
  it('reports no unacknowledged finding', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(report.violations).toEqual([]);
  });

  it('acknowledges flow logs, the network-interface wildcard and ICMP errors from anywhere on their own constructs, with reasons', () => {
    // CDK itself acknowledges cfn-lint's W3010 when a construct reads the stack's AZs; not ours.
    const acks = acknowledgments(stack).filter((a) => a.id.startsWith('AwsSolutions-'));
    expect(acks.map((a) => `${a.path} ${a.id}`).sort()).toEqual([
      'Dialback/Egress/FunctionSecurityGroup AwsSolutions-EC23',
      'Dialback/Egress/NetworkInterfaces AwsSolutions-IAM5[Resource::*]',
      'Dialback/Egress/Vpc AwsSolutions-VPC7',
      'Dialback/HttpApi AwsSolutions-APIG4',
      'Dialback/HttpApiDualStack AwsSolutions-APIG4',
      'Dialback/RateLimitKey AwsSolutions-SMG4',
      'Dialback/RateLimits AwsSolutions-DDB3',
    ]);
    for (const ack of acks) expect(ack.reason.length, ack.id).toBeGreaterThan(60);
  });
});
