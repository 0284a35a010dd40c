/**
 * `doctor --map`: asks the router for a forward of the port to this machine over the first
 * protocol it answered (UPnP IGD, then NAT-PMP, then PCP: the order in which a person can also
 * remove it with a common tool), and hands back how to remove it. Over IPv6 the same is a
 * pinhole in the router's firewall (UPnP IGDv2, then PCP), held and removed the same way. A
 * forward or pinhole always carries a lifetime, so one the doctor could not remove (killed,
 * unplugged) lapses by itself.
 */
import { randomBytes } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { decodeMapAnswer, NAT_PMP_PORT, encodeMapRequest as natPmpMap, natPmpResultText } from './nat-pmp.ts';
import { decodePcpAnswer, encodeMapRequest as pcpMap, pcpResultText } from './pcp.ts';
import { pcpSource, RESEND_AFTER_MS, type RouterFacts, type RouterIo, soap } from './router-discovery.ts';
import { calls } from './upnp-igd.ts';
import { pinholeCalls, pinholeIdOf } from './upnp-pinhole.ts';

/** The protocol a forward was made with. */
export type MappingProtocol = 'UPnP IGD' | 'NAT-PMP' | 'PCP';

/** How long a forward lives: long enough for a check, short if the doctor is killed; `--keep` asks for hours. */
export const MAP_LIFETIME_SECONDS = 300;
export const KEPT_LIFETIME_SECONDS = 7200;

/** The forward's description on the router, so a person can tell it apart in the admin page. */
const DESCRIPTION = 'dialback doctor';

/** Time for one request/answer with a router on the LAN. */
const ASK_MS = 1500;

/** A forward (IPv4) or pinhole (IPv6) the router made. */
export interface HeldMapping {
  readonly via: MappingProtocol;
  readonly what: 'forward' | 'pinhole';
  readonly lifetimeSeconds: number;
  /** How a person removes it by hand. */
  readonly removeHow: string;
  /** Asks the router to remove it; `false` when it did not confirm. */
  remove(): Promise<boolean>;
}

type Target = { readonly port: number; readonly protocol: 'tcp' | 'udp' };

async function viaUpnp(io: RouterIo, facts: RouterFacts, t: Target, client: string, lifetime: number) {
  const service = facts.upnp?.service;
  if (service === undefined) return undefined;
  const added = await soap(
    io,
    service,
    calls.add(t.port, t.protocol, client, lifetime, DESCRIPTION),
    io.now() + ASK_MS,
  );
  if (added?.kind !== 'ok') {
    return `UPnP AddPortMapping: ${added === undefined ? 'no answer' : `error ${added.code} ${added.description}`}`;
  }
  const held: HeldMapping = {
    via: 'UPnP IGD',
    what: 'forward',
    lifetimeSeconds: lifetime,
    removeHow: `\`upnpc -d ${t.port} ${t.protocol.toUpperCase()}\` (miniupnpc) or the router's admin page`,
    remove: async () => (await soap(io, service, calls.remove(t.port, t.protocol), io.now() + ASK_MS))?.kind === 'ok',
  };
  return held;
}

/** IPv6: a pinhole over IGDv2, named by the UniqueID the router gives (deletion needs it). */
async function viaUpnpPinhole(io: RouterIo, facts: RouterFacts, t: Target, client: string, lifetime: number) {
  const service = facts.upnp?.pinholes?.service;
  if (service === undefined) return undefined;
  const added = await soap(io, service, pinholeCalls.add(client, t.port, t.protocol, lifetime), io.now() + ASK_MS);
  const id = pinholeIdOf(added);
  if (id === undefined) {
    const why = added?.kind === 'fault' ? `error ${added.code} ${added.description}` : 'no pinhole id in the answer';
    return `UPnP AddPinhole: ${added === undefined ? 'no answer' : why}`;
  }
  const held: HeldMapping = {
    via: 'UPnP IGD',
    what: 'pinhole',
    lifetimeSeconds: lifetime,
    removeHow: `\`upnpc -6 -D ${id}\` (miniupnpc; pinhole ${id}) or the router's admin page`,
    remove: async () => (await soap(io, service, pinholeCalls.remove(id), io.now() + ASK_MS))?.kind === 'ok',
  };
  return held;
}

async function viaNatPmp(io: RouterIo, facts: RouterFacts, t: Target, lifetime: number) {
  if (facts.natPmp === undefined) return undefined;
  const ask = (externalPort: number, lifetimeSeconds: number) =>
    io.udpAsk(
      facts.gateway,
      NAT_PMP_PORT,
      natPmpMap({ protocol: t.protocol, internalPort: t.port, externalPort, lifetimeSeconds }),
      RESEND_AFTER_MS,
      (bytes) => {
        const answer = decodeMapAnswer(bytes);
        return answer?.internalPort === t.port && answer.protocol === t.protocol ? answer : undefined;
      },
      io.now() + ASK_MS,
    );
  const added = await ask(t.port, lifetime);
  if (added === undefined || added.result !== 0) {
    return `NAT-PMP: ${added === undefined ? 'no answer' : natPmpResultText(added.result)}`;
  }
  if (added.externalPort !== t.port) {
    await ask(0, 0);
    return `NAT-PMP gave external port ${added.externalPort}, not ${t.port}`;
  }
  const held: HeldMapping = {
    via: 'NAT-PMP',
    what: 'forward',
    lifetimeSeconds: added.lifetimeSeconds,
    removeHow: `\`natpmpc -a ${t.port} 0 ${t.protocol} 0\` (libnatpmp)`,
    remove: async () => (await ask(0, 0))?.result === 0,
  };
  return held;
}

async function viaPcp(io: RouterIo, facts: RouterFacts, t: Target, client: string, lifetime: number) {
  if (facts.pcp === undefined) return undefined;
  const nonce = new Uint8Array(randomBytes(12));
  const ask = (lifetimeSeconds: number) =>
    io.udpAsk(
      facts.gateway,
      NAT_PMP_PORT,
      pcpMap({ client, nonce, protocol: t.protocol, internalPort: t.port, externalPort: t.port, lifetimeSeconds }),
      RESEND_AFTER_MS,
      (bytes) => {
        const answer = decodePcpAnswer(bytes);
        return answer?.kind === 'map' && Buffer.from(answer.nonce).equals(Buffer.from(nonce)) ? answer : undefined;
      },
      io.now() + ASK_MS,
      pcpSource(client),
    );
  const added = await ask(lifetime);
  if (added === undefined || added.result !== 0) {
    return `PCP: ${added === undefined ? 'no answer' : pcpResultText(added.result)}`;
  }
  if (added.externalPort !== t.port) {
    await ask(0);
    return `PCP gave external port ${added.externalPort}, not ${t.port}`;
  }
  const held: HeldMapping = {
    via: 'PCP',
    what: isIPv6(client) ? 'pinhole' : 'forward',
    lifetimeSeconds: added.lifetimeSeconds,
    // PCP ties the forward to this run's nonce: no other program can remove it.
    removeHow: "the router's admin page (PCP lets only the program that made it remove it early)",
    remove: async () => (await ask(0))?.result === 0,
  };
  return held;
}

/**
 * Asks the router for a forward of `t` to `client` (a pinhole when `client` is IPv6) over the
 * first protocol it spoke that grants one; it, or why none was made (each refusal, joined).
 */
export async function addMapping(
  io: RouterIo,
  facts: RouterFacts,
  t: Target,
  client: string,
  keep: boolean,
): Promise<HeldMapping | { readonly failed: string }> {
  const lifetime = keep ? KEPT_LIFETIME_SECONDS : MAP_LIFETIME_SECONDS;
  const refusals: string[] = [];
  const attempts = isIPv6(client)
    ? [() => viaUpnpPinhole(io, facts, t, client, lifetime), () => viaPcp(io, facts, t, client, lifetime)]
    : [
        () => viaUpnp(io, facts, t, client, lifetime),
        () => viaNatPmp(io, facts, t, lifetime),
        () => viaPcp(io, facts, t, client, lifetime),
      ];
  for (const attempt of attempts) {
    const outcome = await attempt().catch((error: unknown) => `${(error as Error).message}`);
    if (outcome === undefined) continue;
    if (typeof outcome !== 'string') return outcome;
    refusals.push(outcome);
  }
  return {
    failed:
      refusals.length > 0
        ? refusals.join('; ')
        : isIPv6(client)
          ? 'the router offered neither UPnP IGDv2 pinholes nor PCP'
          : 'the router answered none of UPnP IGD, NAT-PMP or PCP',
  };
}
