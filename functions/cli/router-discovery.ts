/**
 * Asks the default gateway what it is, within one fixed budget: UPnP IGD (SSDP search, device
 * description, GetExternalIPAddress, GetSpecificPortMappingEntry for the port), NAT-PMP
 * (external address) and PCP (ANNOUNCE) all at once, so a silent router costs the budget and no
 * more. Sockets and HTTP are passed in (`RouterIo`); `routerIo()` is the real one.
 */
import dgram from 'node:dgram';
import http from 'node:http';
import {
  decodeExternalAddressAnswer,
  encodeExternalAddressRequest,
  NAT_PMP_PORT,
  natPmpResultText,
} from './nat-pmp.ts';
import { decodePcpAnswer, encodeAnnounce, pcpResultText } from './pcp.ts';
import {
  calls,
  decodeSearchAnswer,
  decodeSoap,
  encodeSearch,
  encodeSoap,
  MAX_XML_BYTES,
  NO_SUCH_ENTRY,
  type SoapAnswer,
  type SoapCall,
  SSDP_ADDRESS,
  SSDP_ADDRESS_V6,
  SSDP_PORT,
  type WanService,
  wanServiceOf,
} from './upnp-igd.ts';
import { type FirewallStatus, firewallStatusOf, pinholeCalls, pinholeServiceOf } from './upnp-pinhole.ts';

/** The whole discovery's budget: the issue's "≤ 2 s total, never hangs on a silent router". */
export const DISCOVERY_BUDGET_MS = 2000;

/** When UDP requests are sent again, from the first send (RFC 6886 §3.1 starts at 250 ms, doubling). */
export const RESEND_AFTER_MS: readonly number[] = [250, 750];

/** The network as discovery uses it; tests and the lab pass the real one, unit tests a scripted one. */
export interface RouterIo {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  /**
   * Sends `payload` over UDP to `host:port` now and again after each of `resendMs`, and resolves
   * the first reply from there that `accept` reads, or `undefined` at `deadline`. `from` is the
   * sender's address (with its `%zone` when link-local); `source`: send from this address.
   */
  udpAsk<T>(
    host: string,
    port: number,
    payload: Uint8Array,
    resendMs: readonly number[],
    accept: (reply: Uint8Array, from: string) => T | undefined,
    deadline: number,
    source?: string,
  ): Promise<T | undefined>;
  /** An HTTP request's body when the status is 2xx or 500 (SOAP faults), else `undefined`; never past `deadline`. */
  http(
    url: string,
    init: { method: 'GET' | 'POST'; headers?: Readonly<Record<string, string>>; body?: string },
    deadline: number,
  ): Promise<string | undefined>;
}

/** A forward the router reported for the port (UPnP only: NAT-PMP and PCP cannot list). */
export interface RouterMapping {
  readonly internalClient: string;
  readonly internalPort: number;
  readonly enabled: boolean;
  readonly description: string;
  readonly leaseSeconds: number;
}

/** What the router said, protocol by protocol; a protocol missing here did not answer. */
export interface RouterFacts {
  readonly gateway: string;
  readonly upnp?: {
    readonly service: WanService;
    /** Its external address, `undefined` when the call failed. */
    readonly externalAddress?: string;
    /** The mapping for the port, `null` when it has none, `undefined` when the call failed (or asked over IPv6). */
    readonly mapping?: RouterMapping | null;
    /** Asked over IPv6: its IGDv2 pinhole service, and its firewall status when it said. */
    readonly pinholes?: { readonly service: WanService; readonly status?: FirewallStatus };
  };
  readonly natPmp?: { readonly result: string; readonly code: number; readonly externalAddress?: string };
  readonly pcp?: { readonly result: string };
  /** How long discovery took. */
  readonly elapsedMs: number;
}

/** The external address the router gave (UPnP first, then NAT-PMP), unless it gave none or 0.0.0.0. */
export function routerExternalAddress(facts: RouterFacts): string | undefined {
  const candidates = [facts.upnp?.externalAddress, facts.natPmp?.externalAddress];
  return candidates.find((a) => a !== undefined && a !== '' && a !== '0.0.0.0');
}

/** NAT-PMP's "network failure": RFC 6886 §3.5 has the router send it when it has no external address yet. */
const NAT_PMP_NO_EXTERNAL = 3;

/**
 * Whether the router answered but withheld its external address (UPnP's empty
 * NewExternalIPAddress, NAT-PMP's network failure): what miniupnpd and many routers do when
 * their own WAN address is private or carrier-grade, i.e. another NAT is in front of them.
 */
export function routerWithholdsExternal(facts: RouterFacts): boolean {
  if (routerExternalAddress(facts) !== undefined) return false;
  const upnpEmpty = facts.upnp !== undefined && (facts.upnp.externalAddress ?? '') === '';
  return upnpEmpty || facts.natPmp?.code === NAT_PMP_NO_EXTERNAL;
}

/** Calls `call` on the router's WAN service; `undefined` when it did not answer in time. */
export async function soap(
  io: RouterIo,
  service: WanService,
  call: SoapCall,
  deadline: number,
): Promise<SoapAnswer | undefined> {
  const { body, soapAction } = encodeSoap(service.serviceType, call);
  const text = await io.http(
    service.controlUrl,
    { method: 'POST', headers: { 'Content-Type': 'text/xml; charset="utf-8"', SOAPAction: soapAction }, body },
    deadline,
  );
  return text === undefined ? undefined : decodeSoap(text, call.action);
}

/** The mapping in a GetSpecificPortMappingEntry answer; `null` for "no such entry". */
function mappingOf(answer: SoapAnswer | undefined): RouterMapping | null | undefined {
  if (answer === undefined) return undefined;
  if (answer.kind === 'fault') return answer.code === NO_SUCH_ENTRY ? null : undefined;
  const v = answer.values;
  const client = v.get('NewInternalClient');
  const port = Number(v.get('NewInternalPort'));
  if (client === undefined || !Number.isInteger(port)) return undefined;
  return {
    internalClient: client,
    internalPort: port,
    enabled: v.get('NewEnabled') !== '0',
    description: v.get('NewPortMappingDescription') ?? '',
    leaseSeconds: Number(v.get('NewLeaseDuration') ?? 0) || 0,
  };
}

/**
 * Where PCP must be sent from: the address its header names (RFC 6887 §8.1; else "address
 * mismatch"). Over IPv6 to a link-local gateway the kernel would pick a link-local source, so
 * the socket is bound to this machine's global address; IPv4's route source is already it.
 */
export function pcpSource(client: string): string | undefined {
  return client.includes(':') ? client : undefined;
}

/** A URL's host without IPv6's brackets, as route tables write the gateway. */
const hostOf = (url: string): string => new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');

/** IPv6: the router's IGDv2 pinhole service and firewall status (its IPv4 forwards do not apply). */
async function askPinholes(io: RouterIo, description: string, location: string, deadline: number) {
  const service = pinholeServiceOf(description, location);
  if (service === undefined) return undefined;
  const status = firewallStatusOf(await soap(io, service, pinholeCalls.firewallStatus(), deadline));
  return { service, ...(status === undefined ? {} : { status }) };
}

async function askUpnp(
  io: RouterIo,
  gateway: string,
  target: { port: number; protocol: 'tcp' | 'udp' },
  deadline: number,
  device?: string,
): Promise<RouterFacts['upnp']> {
  // Over IPv6 the search goes to ff02::c on the route's interface, and the router answers with
  // its IPv6 address: pinholes must be asked for over IPv6 (IGDv2 lets a control point open one
  // to its own address only, and miniupnpd compares it with the address the call came from).
  const v6 = gateway.includes(':');
  const group = v6 ? `${SSDP_ADDRESS_V6}${device === undefined ? '' : `%${device}`}` : SSDP_ADDRESS;
  const answer = await io.udpAsk(
    group,
    SSDP_PORT,
    new TextEncoder().encode(encodeSearch(1, v6)),
    RESEND_AFTER_MS,
    (reply, from) => {
      const found = decodeSearchAnswer(new TextDecoder().decode(reply));
      // Only the gateway's own description counts: another IGD on the LAN is not on the path.
      // An IPv6 gateway is usually known by its link-local address while its description is
      // served on a global one, so there the answer's sender is what must be the gateway.
      const ours = found !== undefined && (hostOf(found.location) === gateway || (v6 && from === gateway));
      return ours ? found : undefined;
    },
    deadline,
  );
  if (answer === undefined) return undefined;
  const description = await io.http(answer.location, { method: 'GET' }, deadline);
  const service = description === undefined ? undefined : wanServiceOf(description, answer.location);
  if (service === undefined || description === undefined) return undefined;
  if (v6) {
    const pinholes = await askPinholes(io, description, answer.location, deadline);
    return { service, ...(pinholes === undefined ? {} : { pinholes }) };
  }
  const [external, entry] = await Promise.all([
    soap(io, service, calls.externalAddress(), deadline),
    soap(io, service, calls.mappingFor(target.port, target.protocol), deadline),
  ]);
  const externalAddress = external?.kind === 'ok' ? external.values.get('NewExternalIPAddress') : undefined;
  const mapping = mappingOf(entry);
  return {
    service,
    ...(externalAddress === undefined ? {} : { externalAddress }),
    ...(mapping === undefined ? {} : { mapping }),
  };
}

/**
 * Asks `gateway` over UPnP IGD, NAT-PMP and PCP at once, about `target`'s port; resolves within
 * `budgetMs` whatever the router does. `client` is this machine's address towards it (PCP
 * carries it). An IPv6 gateway is asked over UPnP (on `device`) and PCP only: NAT-PMP is IPv4's.
 */
export async function discoverRouter(
  io: RouterIo,
  gateway: string,
  client: string,
  target: { port: number; protocol: 'tcp' | 'udp' },
  budgetMs = DISCOVERY_BUDGET_MS,
  device?: string,
): Promise<RouterFacts> {
  const start = io.now();
  const deadline = start + budgetMs;
  const [upnp, natPmp, pcp] = await Promise.all([
    askUpnp(io, gateway, target, deadline, device).catch(() => undefined),
    gateway.includes(':')
      ? undefined
      : io
          .udpAsk(
            gateway,
            NAT_PMP_PORT,
            encodeExternalAddressRequest(),
            RESEND_AFTER_MS,
            decodeExternalAddressAnswer,
            deadline,
          )
          .catch(() => undefined),
    io
      .udpAsk(
        gateway,
        NAT_PMP_PORT,
        encodeAnnounce(client),
        RESEND_AFTER_MS,
        decodePcpAnswer,
        deadline,
        pcpSource(client),
      )
      .catch(() => undefined),
  ]);
  return {
    gateway,
    ...(upnp === undefined ? {} : { upnp }),
    ...(natPmp === undefined
      ? {}
      : {
          natPmp: {
            result: natPmpResultText(natPmp.result),
            code: natPmp.result,
            ...(natPmp.result === 0 ? { externalAddress: natPmp.address } : {}),
          },
        }),
    // A router that answers PCP with NAT-PMP's "unsupported version" speaks NAT-PMP only.
    ...(pcp === undefined || pcp.kind === 'nat-pmp-only' ? {} : { pcp: { result: pcpResultText(pcp.result) } }),
    elapsedMs: Math.round(io.now() - start),
  };
}

/** The real network: one UDP socket per question, Node's HTTP client, both bounded by the deadline. */
export function routerIo(): RouterIo {
  const now = (): number => performance.now();
  return {
    now,
    udpAsk: (host, port, payload, resendMs, accept, deadline, source) =>
      new Promise((resolve) => {
        const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
        const ssdp = host === SSDP_ADDRESS || host.startsWith(SSDP_ADDRESS_V6);
        const timers: NodeJS.Timeout[] = [];
        let done = false;
        const finish = (value: Parameters<typeof resolve>[0]): void => {
          if (done) return;
          done = true;
          for (const t of timers) clearTimeout(t);
          socket.close();
          resolve(value);
        };
        const send = (): void => {
          if (done) return;
          try {
            socket.send(payload, port, host, (error) => {
              // Unreachable or refused locally: there is no router to hear it.
              if (error) finish(undefined);
            });
          } catch {
            // Refused before sending (no route for multicast, a sandbox): the same.
            finish(undefined);
          }
        };
        socket.on('error', () => finish(undefined));
        socket.on('message', (reply, from) => {
          // SSDP answers come from the device's own address, not the multicast group.
          if (!ssdp && (from.address !== host || from.port !== port)) return;
          const read = accept(new Uint8Array(reply), from.address);
          if (read !== undefined) finish(read);
        });
        timers.push(setTimeout(() => finish(undefined), Math.max(0, deadline - now())));
        socket.bind({ port: 0, ...(source === undefined ? {} : { address: source }) }, () => {
          if (ssdp) socket.setMulticastTTL(2);
          send();
          for (const after of resendMs) timers.push(setTimeout(send, after));
        });
      }),
    http: (url, init, deadline) =>
      new Promise((resolve) => {
        const ms = Math.max(1, Math.ceil(deadline - now()));
        const request = http.request(
          url,
          { method: init.method, headers: { ...init.headers, Connection: 'close' }, signal: AbortSignal.timeout(ms) },
          (response) => {
            const chunks: Buffer[] = [];
            let size = 0;
            response.on('data', (chunk: Buffer) => {
              size += chunk.length;
              if (size > MAX_XML_BYTES) {
                request.destroy();
                resolve(undefined);
              } else chunks.push(chunk);
            });
            response.on('end', () => {
              const status = response.statusCode ?? 0;
              const usable = (status >= 200 && status < 300) || status === 500;
              resolve(usable ? Buffer.concat(chunks).toString('utf8') : undefined);
            });
            response.on('error', () => resolve(undefined));
          },
        );
        request.on('error', () => resolve(undefined));
        request.end(init.body);
      }),
  };
}
