/**
 * Does this machine's nftables ruleset let a new inbound connection to PORT in? Read from
 * `nft -j list ruleset` and judged by walking the base chains on the input path rule by rule,
 * for a packet from an unknown Internet address on an interface other than loopback. Whatever
 * the walk cannot decide for certain (jumps to other chains, named sets, marks, source
 * addresses, rate limits, NAT, iptables-nft's compatibility rules) makes the answer `unknown`,
 * never a guessed "accepted". Pure: JSON text in, a judgement out.
 */

/** The packet being judged. */
export interface InboundPacket {
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
  readonly family: 4 | 6;
}

/** What the ruleset does with the packet, naming the rule (or policy) that decides. */
export type FirewallJudgement =
  | { readonly kind: 'accepted' | 'dropped' | 'rejected'; readonly by: string }
  | { readonly kind: 'unknown'; readonly why: string };

type Json = unknown;
type Obj = Record<string, Json>;
/** A match's truth for the packet: known, or not decidable here (and why). */
type Truth = boolean | { readonly unknown: string };

interface Chain {
  readonly family: string;
  readonly table: string;
  readonly name: string;
  readonly hook: string;
  readonly type: string;
  readonly prio: number;
  readonly policy: string;
}

interface Rule {
  readonly family: string;
  readonly table: string;
  readonly chain: string;
  readonly handle: number;
  readonly expr: readonly Json[];
}

const isObj = (v: Json): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: Json): string => (typeof v === 'string' ? v : '');
/** Hooks a packet to this machine passes, in order. Ingress (netdev or inet) comes first of all. */
const HOOK_ORDER = ['ingress', 'prerouting', 'input'];
/** What the packet has for a header it does not carry. */
const ABSENT = '(absent)';
/** Statements that change nothing about where the packet goes. */
const PASSIVE = new Set(['counter', 'log']);

/** Judges `ruleset` (the text of `nft -j list ruleset`) for `packet`. */
export function judgeNftRuleset(ruleset: string, packet: InboundPacket): FirewallJudgement {
  let items: Json[];
  try {
    const parsed: Json = JSON.parse(ruleset);
    items = isObj(parsed) && Array.isArray(parsed.nftables) ? parsed.nftables : [];
  } catch {
    return { kind: 'unknown', why: 'nft printed something that is not its JSON ruleset' };
  }
  const families = ['inet', packet.family === 4 ? 'ip' : 'ip6', 'netdev'];
  const chains = items
    .map((i) => (isObj(i) && isObj(i.chain) ? i.chain : undefined))
    .filter((c): c is Obj => c !== undefined && HOOK_ORDER.includes(str(c.hook)) && families.includes(str(c.family)))
    .map(toChain)
    .sort((a, b) => HOOK_ORDER.indexOf(a.hook) - HOOK_ORDER.indexOf(b.hook) || a.prio - b.prio);
  const rules = items.map((i) => (isObj(i) && isObj(i.rule) ? toRule(i.rule) : undefined));
  let acceptedBy = 'no nftables chain on the input path';
  for (const chain of chains) {
    const own = rules.filter(
      (r): r is Rule =>
        r !== undefined && r.family === chain.family && r.table === chain.table && r.chain === chain.name,
    );
    const outcome = walkChain(chain, own, packet);
    if (outcome.kind !== 'accepted') return outcome;
    acceptedBy = outcome.by;
  }
  return { kind: 'accepted', by: acceptedBy };
}

function toChain(c: Obj): Chain {
  return {
    family: str(c.family),
    table: str(c.table),
    name: str(c.name),
    hook: str(c.hook),
    type: str(c.type),
    prio: typeof c.prio === 'number' ? c.prio : 0,
    policy: str(c.policy) || 'accept',
  };
}

function toRule(r: Obj): Rule {
  return {
    family: str(r.family),
    table: str(r.table),
    chain: str(r.chain),
    handle: typeof r.handle === 'number' ? r.handle : 0,
    expr: Array.isArray(r.expr) ? r.expr : [],
  };
}

function chainName(chain: { family: string; table: string; name: string }): string {
  return `chain ${chain.family} ${chain.table} ${chain.name}`;
}

/** The walk through one base chain: its first rule that decides, or its policy. */
function walkChain(chain: Chain, rules: readonly Rule[], packet: InboundPacket): FirewallJudgement {
  if (chain.type === 'nat' && rules.length > 0) {
    return { kind: 'unknown', why: `${chainName(chain)} rewrites addresses (NAT), which the doctor does not follow` };
  }
  // An ingress chain belongs to one device, and which device a connection arrives on is not known.
  if (chain.hook === 'ingress' && rules.length > 0) {
    return {
      kind: 'unknown',
      why: `${chainName(chain)} filters one device's ingress, which the doctor does not follow`,
    };
  }
  for (const rule of rules) {
    const decided = walkRule(rule, packet);
    if (decided === undefined) continue;
    const where = `${chainName(chain)}, rule handle ${rule.handle} (${describeRule(rule)})`;
    if (decided === 'return') break;
    if (typeof decided !== 'string') return { kind: 'unknown', why: `${where}: ${decided.unknown}` };
    if (decided === 'accept') return { kind: 'accepted', by: where };
    return { kind: decided === 'drop' ? 'dropped' : 'rejected', by: where };
  }
  if (chain.policy === 'drop') return { kind: 'dropped', by: `the policy of ${chainName(chain)} (policy drop)` };
  return { kind: 'accepted', by: `the policy of ${chainName(chain)} (policy ${chain.policy})` };
}

/**
 * What one rule does with the packet: `undefined` when it does not apply (or decides nothing),
 * its verdict when it applies for certain, or why that cannot be known.
 */
function walkRule(
  rule: Rule,
  packet: InboundPacket,
): 'accept' | 'drop' | 'reject' | 'return' | { unknown: string } | undefined {
  let doubt: string | undefined;
  for (const expr of rule.expr) {
    if (!isObj(expr)) return { unknown: 'a rule the doctor cannot read' };
    const [key] = Object.keys(expr);
    if (key === undefined || PASSIVE.has(key)) continue;
    if (key === 'match') {
      const truth = isObj(expr.match) ? evaluate(expr.match, packet) : { unknown: 'an unreadable match' };
      if (truth === false) return undefined;
      if (truth !== true) doubt ??= truth.unknown;
      continue;
    }
    const verdict = key === 'accept' || key === 'drop' || key === 'reject' || key === 'return' ? key : undefined;
    if (verdict === undefined) return { unknown: statementDoubt(key, expr[key]) };
    return doubt === undefined ? verdict : { unknown: doubt };
  }
  return undefined;
}

function statementDoubt(key: string, value: Json): string {
  if (key === 'jump' || key === 'goto') {
    const target = isObj(value) ? str(value.target) : '';
    return `it ${key === 'jump' ? 'jumps' : 'goes'} to chain ${target}, which the doctor does not follow`;
  }
  if (key === 'xt') return 'an iptables-nft compatibility rule, which nft cannot show as data';
  return `its "${key}" statement is not one the doctor judges`;
}

/** Whether one `match` holds for the packet. */
function evaluate(match: Obj, packet: InboundPacket): Truth {
  const { op, left, right } = match;
  if (typeof right === 'string' && right.startsWith('@')) return { unknown: `it matches the named set ${right}` };
  const found = packetValue(left, packet);
  if (typeof found === 'object') return found;
  // A match on another transport's header implies that protocol (nft adds the dependency), whatever the operator.
  if (found === ABSENT) return false;
  return compare(str(op), found, right);
}

/** What the packet has for a match's left side, or why that is not known. */
function packetValue(left: Json, packet: InboundPacket): string | number | { unknown: string } {
  const payload = isObj(left) && isObj(left.payload) ? left.payload : undefined;
  const meta = isObj(left) && isObj(left.meta) ? str(left.meta.key) : undefined;
  const ct = isObj(left) && isObj(left.ct) ? str(left.ct.key) : undefined;
  if (payload !== undefined) {
    const protocol = str(payload.protocol);
    const field = str(payload.field);
    if (field === 'dport' && (protocol === packet.protocol || protocol === 'th')) return packet.port;
    // A header of another transport protocol is absent from the packet, so no value matches it.
    if (protocol === 'tcp' || protocol === 'udp' || protocol === 'icmp' || protocol === 'icmpv6') {
      return protocol === packet.protocol ? { unknown: `it matches ${protocol} ${field}` } : ABSENT;
    }
    if ((protocol === 'ip' && field === 'protocol') || (protocol === 'ip6' && field === 'nexthdr')) {
      return packet.protocol;
    }
    return { unknown: `it matches ${protocol} ${field}, which depends on who connects` };
  }
  if (meta === 'l4proto') return packet.protocol;
  if (meta === 'nfproto') return packet.family === 4 ? 'ipv4' : 'ipv6';
  if (meta === 'iifname' || meta === 'iif') return 'not-lo';
  if (ct === 'state') return 'new';
  const what = meta !== undefined ? `meta ${meta}` : ct !== undefined ? `ct ${ct}` : 'an expression';
  return { unknown: `it matches ${what}, which the doctor does not judge` };
}

/** Protocol names as nft prints them, with their numbers. */
const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = { tcp: 6, udp: 17 };

function compare(op: string, value: string | number, right: Json): Truth {
  const members = isObj(right) && Array.isArray(right.set) ? right.set : Array.isArray(right) ? right : [right];
  // An interface match can only be judged against loopback: the packet's real interface is not known.
  if (value === 'not-lo' && members.some((m) => m !== 'lo')) {
    return { unknown: 'it matches an interface, and which one a connection arrives on is not known' };
  }
  const hit = members.some((m) => equals(value, m));
  switch (op) {
    case '==':
    case 'in':
      return hit;
    case '!=':
      return !hit;
    default:
      if (typeof value === 'number' && typeof right === 'number') return ordered(op, value, right);
      return { unknown: `it compares with "${op}", which the doctor does not judge` };
  }
}

function ordered(op: string, value: number, right: number): Truth {
  if (op === '<') return value < right;
  if (op === '>') return value > right;
  if (op === '<=') return value <= right;
  if (op === '>=') return value >= right;
  return { unknown: `it compares with "${op}", which the doctor does not judge` };
}

function equals(value: string | number, member: Json): boolean {
  if (isObj(member) && Array.isArray(member.range) && typeof value === 'number') {
    const [low, high] = member.range;
    return typeof low === 'number' && typeof high === 'number' && low <= value && value <= high;
  }
  if (typeof value === 'string' && typeof member === 'number') return PROTOCOL_NUMBERS[value] === member;
  return member === value;
}

/** A rule in short nft words, enough for a person to find it: `tcp dport 8080 drop`. */
export function describeRule(rule: { readonly expr: readonly Json[] }): string {
  const words = rule.expr.map((expr) => {
    if (!isObj(expr)) return '?';
    const [key] = Object.keys(expr);
    if (key === 'match' && isObj(expr.match)) {
      const { op, left, right } = expr.match;
      const side = isObj(left) ? describeLeft(left) : '?';
      const operator = op === '==' || op === 'in' ? '' : ` ${str(op)}`;
      return `${side}${operator} ${describeRight(right)}`;
    }
    if (key === 'jump' || key === 'goto') return `${key} ${isObj(expr[key]) ? str((expr[key] as Obj).target) : ''}`;
    return key ?? '?';
  });
  return words.join(' ');
}

function describeLeft(left: Obj): string {
  if (isObj(left.payload)) return `${str(left.payload.protocol)} ${str(left.payload.field)}`;
  if (isObj(left.meta)) return `meta ${str(left.meta.key)}`;
  if (isObj(left.ct)) return `ct ${str(left.ct.key)}`;
  return Object.keys(left)[0] ?? '?';
}

function describeRight(right: Json): string {
  if (isObj(right) && Array.isArray(right.set)) return `{ ${right.set.map(describeRight).join(', ')} }`;
  if (isObj(right) && Array.isArray(right.range)) return right.range.map(describeRight).join('-');
  if (isObj(right) && isObj(right.prefix)) return `${str(right.prefix.addr)}/${String(right.prefix.len)}`;
  if (Array.isArray(right)) return right.map(describeRight).join(',');
  return typeof right === 'string' || typeof right === 'number' ? String(right) : '?';
}
