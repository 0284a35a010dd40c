/**
 * Where the function's probes leave AWS from (`-c egress=default|vpc`).
 *
 * `default` needs nothing here: a Lambda outside a VPC dials out over IPv4 only, from an address
 * AWS picks per execution environment, so the function is told it has no IPv6 egress and no
 * fixed source. `vpc` builds the network in `VpcEgress`: a dual-stack VPC whose private subnets
 * reach IPv4 through one NAT gateway with an Elastic IP and IPv6 through an egress-only internet
 * gateway, so every probe leaves from addresses a caller's firewall can allowlist.
 */
import { Fn, Validations } from 'aws-cdk-lib';
import {
  CfnEIP,
  GatewayVpcEndpointAwsService,
  IpProtocol,
  NatProvider,
  Peer,
  Port,
  Protocol,
  SecurityGroup,
  type SubnetSelection,
  SubnetType,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import { Policy, PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import type { FunctionOptions, IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/** The function's egress variables in `default` mode: no IPv6 route, no fixed source address. */
export const DEFAULT_EGRESS_ENVIRONMENT = Object.freeze({ IPV6_EGRESS: 'false' });

/**
 * What Lambda needs to attach a function to a VPC: the EC2 actions of the managed
 * AWSLambdaVPCAccessExecutionRole policy, without its account-wide log permissions.
 */
export const NETWORK_INTERFACE_ACTIONS = Object.freeze([
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
]);

/**
 * The ICMP errors the function must receive for its verdicts: IPv4 destination-unreachable (type
 * 3, every code: port-, host-, net-, protocol-unreachable, the prohibited codes, fragmentation
 * needed), ICMPv6 destination-unreachable (type 1) and packet-too-big (type 2).
 */
export const ICMP_ERRORS_IN: ReadonlyArray<readonly [ReturnType<typeof Peer.anyIpv4>, Port, string]> = [
  [Peer.anyIpv4(), Port.icmpType(3), 'ICMP destination-unreachable: closed and filtered verdicts'],
  [
    Peer.anyIpv6(),
    new Port({ protocol: Protocol.ICMPV6, fromPort: 1, toPort: -1, stringRepresentation: 'ICMPv6 type 1' }),
    'ICMPv6 destination-unreachable: closed and filtered verdicts',
  ],
  [
    Peer.anyIpv6(),
    new Port({ protocol: Protocol.ICMPV6, fromPort: 2, toPort: -1, stringRepresentation: 'ICMPv6 type 2' }),
    'ICMPv6 packet-too-big: path MTU for the dial-proof line',
  ],
];

/** Props of `VpcEgress`. */
export interface VpcEgressProps {
  /** The function's execution role; it gets the network-interface permissions Lambda uses. */
  readonly role: Role;
  /**
   * The zones of the subnets (`-c azs`).
   * @default - the region's first two
   */
  readonly availabilityZones?: readonly string[];
}

/** The `vpc` egress mode: a dual-stack VPC with fixed IPv4 and IPv6 egress for the function. */
export class VpcEgress extends Construct {
  /** The dual-stack VPC (two AZs, public and private-with-egress subnets, one NAT gateway). */
  readonly vpc: Vpc;
  /** The function's security group: TCP and UDP out to anywhere; in, only ICMP errors (`ICMP_ERRORS_IN`). */
  readonly securityGroup: SecurityGroup;
  /** The NAT gateway's Elastic IP (a token): the source of every IPv4 probe. */
  readonly ipv4Address: string;
  /** The VPC's Amazon-provided IPv6 `/56` (a token): every IPv6 probe leaves from inside it. */
  readonly ipv6Range: string;
  /** Where the function's network interfaces go. */
  readonly subnets: SubnetSelection = { subnetType: SubnetType.PRIVATE_WITH_EGRESS };
  private readonly networkInterfaces: Policy;

  constructor(scope: Construct, id: string, props: VpcEgressProps) {
    super(scope, id);

    // Our own Elastic IP rather than the one the NAT provider would make: the address is then a
    // named resource whose PublicIp the function and the outputs can reference.
    const address = new CfnEIP(this, 'NatAddress', { domain: 'vpc' });
    this.ipv4Address = address.attrPublicIp;

    this.vpc = new Vpc(this, 'Vpc', {
      ipProtocol: IpProtocol.DUAL_STACK,
      // Two AZs because Lambda wants subnets in more than one; one NAT gateway because each costs
      // the same hourly fee and each would be another source address to allowlist. The price:
      // if that NAT gateway's AZ fails, IPv4 probes fail until it is back (IPv6 does not use it).
      ...(props.availabilityZones === undefined ? { maxAzs: 2 } : { availabilityZones: [...props.availabilityZones] }),
      natGateways: 1,
      natGatewayProvider: NatProvider.gateway({ eipAllocationIds: [address.attrAllocationId] }),
      subnetConfiguration: [
        { name: 'Public', subnetType: SubnetType.PUBLIC },
        // CDK routes ::/0 of private subnets in a dual-stack VPC to an egress-only internet gateway.
        { name: 'Private', subnetType: SubnetType.PRIVATE_WITH_EGRESS },
      ],
      // Nothing is ever placed in the default security group; restricting it would cost a
      // custom-resource Lambda of its own.
      restrictDefaultSecurityGroup: false,
    });
    // The limiter's table calls stay inside AWS: no NAT processing fee, and the rate limiter keeps
    // working even when the NAT gateway does not. Gateway endpoints cost nothing.
    this.vpc.addGatewayEndpoint('DynamoDb', {
      service: GatewayVpcEndpointAwsService.DYNAMODB,
      subnets: [this.subnets],
    });
    // The same expression CDK cuts the subnets' /64s from, evaluated after the block is attached.
    this.ipv6Range = Fn.select(0, this.vpc.vpcIpv6CidrBlocks);
    Validations.of(this.vpc).acknowledge({
      id: 'AwsSolutions-VPC7',
      reason:
        "Flow logs would record every caller's IP address and port, and DESIGN §4.3 keeps raw addresses out of every log; the VPC carries only the checker's own probes and AWS API calls.",
    });

    // A check dials the caller's port, whichever it is, on either family, so egress is all of TCP (and UDP)
    // to anywhere; the deployed-mode guard in the function, not the network, keeps probes to the
    // caller's own public address. The function never accepts connections, and replies to its own
    // connections pass because security groups are stateful; ICMP errors about them do not (AWS
    // documents an inbound rule as what lets path-MTU errors reach an instance), and they are half
    // of the verdicts: a REJECT's port-unreachable is `closed`, admin-prohibited is `filtered` with
    // its reason, a closed UDP port is `closed`. So destination-unreachable (and ICMPv6
    // packet-too-big) may come in, and nothing else.
    this.securityGroup = new SecurityGroup(this, 'FunctionSecurityGroup', {
      vpc: this.vpc,
      description:
        'Dialback function: TCP and UDP out to any address and port (checks dial the caller); in, only ICMP errors about them',
      allowAllOutbound: false,
      allowAllIpv6Outbound: false,
    });
    this.securityGroup.addEgressRule(Peer.anyIpv4(), Port.allTcp(), 'Probes to IPv4 callers, AWS APIs over HTTPS');
    this.securityGroup.addEgressRule(Peer.anyIpv6(), Port.allTcp(), 'Probes to IPv6 callers');
    // UDP checks (`/check/udp/{port}`) send datagrams to the caller's port; their answers come back
    // as replies of a tracked flow.
    this.securityGroup.addEgressRule(Peer.anyIpv4(), Port.allUdp(), 'UDP probes to IPv4 callers');
    this.securityGroup.addEgressRule(Peer.anyIpv6(), Port.allUdp(), 'UDP probes to IPv6 callers');
    for (const [peer, port, why] of ICMP_ERRORS_IN) this.securityGroup.addIngressRule(peer, port, why);
    Validations.of(this.securityGroup).acknowledge({
      id: 'AwsSolutions-EC23',
      reason:
        'The only inbound rules are ICMP destination-unreachable and packet-too-big, from anywhere because a check dials whichever address called; nothing in the function listens, and these errors are how a probe reads closed and filtered ports.',
    });

    // A policy of its own so that it outlives what needs it: Lambda creates the function's network
    // interfaces with the execution role, and deletes them with it after the function is gone.
    // The security group and the private subnets depend on this policy, so on `destroy`
    // CloudFormation removes them (which waits for those interfaces) before it removes the policy.
    this.networkInterfaces = new Policy(this, 'NetworkInterfaces', {
      roles: [props.role],
      statements: [
        // Lambda's documented requirement: DescribeNetworkInterfaces works only on "*", and the
        // interfaces are created and named by Lambda, so no ARN can be written down beforehand.
        new PolicyStatement({ actions: [...NETWORK_INTERFACE_ACTIONS], resources: ['*'] }),
      ],
    });
    Validations.of(this.networkInterfaces).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Lambda attaches a VPC function with these EC2 actions on "*" (DescribeNetworkInterfaces accepts no other resource, and the interface IDs do not exist before Lambda creates them); they are the EC2 part of AWSLambdaVPCAccessExecutionRole.',
    });
    this.securityGroup.node.addDependency(this.networkInterfaces);
    for (const subnet of this.vpc.selectSubnets(this.subnets).subnets)
      subnet.node.addDependency(this.networkInterfaces);
  }

  /** Function props placing its interfaces in the private subnets, with IPv6 allowed out. */
  functionPlacement(): Pick<FunctionOptions, 'vpc' | 'vpcSubnets' | 'securityGroups' | 'ipv6AllowedForDualStack'> {
    return {
      vpc: this.vpc,
      vpcSubnets: this.subnets,
      securityGroups: [this.securityGroup],
      // Without it Lambda gives the function IPv4 only, even in dual-stack subnets.
      ipv6AllowedForDualStack: true,
    };
  }

  /** The function's egress variables: IPv6 dials allowed, and the fixed source addresses. */
  functionEnvironment(): Readonly<Record<string, string>> {
    return { IPV6_EGRESS: 'true', EGRESS_ADDRESSES: Fn.join(',', [this.ipv4Address, this.ipv6Range]) };
  }

  /** Makes `fn`'s creation wait for the permissions Lambda checks when it attaches a VPC function. */
  attach(fn: IFunction): void {
    fn.node.addDependency(this.networkInterfaces);
  }
}
