/**
 * `GET /ip`: the address the service sees, its reverse-DNS name, and who holds it (network,
 * organisation, country) from the offline dataset, which is read on this route's first use
 * (and the page's), never on `/check`'s path.
 */
import { holderLine, holderNote } from '../contract/holder-text.ts';
import type { IpResponse } from '../contract/wire.ts';
import { callerName } from '../core/reverse-dns.ts';
import type { SourceAddress } from '../core/source-address.ts';
import { egressOf, localNotice } from './check.ts';
import { callerAddress, type RouteContext } from './context.ts';
import { type HttpResponse, json, text } from './http.ts';

/** `IpResponse`'s holder fields. */
export type HolderFields = Pick<IpResponse, 'asn' | 'org' | 'country' | 'networkKind' | 'dataDate'>;

const NO_HOLDER: HolderFields = { asn: null, org: null, country: null, networkKind: null, dataDate: null };

/**
 * Who holds `source`, from the dataset: all `null` for a non-public address (the dataset is not
 * even read) and when the deployment has no dataset.
 */
export async function holderOf(ctx: Pick<RouteContext, 'deps'>, source: SourceAddress): Promise<HolderFields> {
  if (source.range !== 'unicast' || ctx.deps.holders === undefined) return NO_HOLDER;
  const table = await ctx.deps.holders();
  if (table === undefined) return NO_HOLDER;
  const { asn, org, country, kind } = table.lookup(source);
  return { asn, org, country, networkKind: kind, dataDate: table.date };
}

/** `/ip` as text: the address alone on the first line (scripts read it), then who holds it. */
function ipText(body: IpResponse, notice: string | undefined): string {
  const lines = [body.ip, holderLine(body), holderNote(body), notice];
  return `${lines.filter((l): l is string => l !== undefined).join('\n')}\n`;
}

/** The `GET /ip` route. */
export async function ipRoute(ctx: RouteContext): Promise<HttpResponse> {
  const source = callerAddress(ctx);
  const [reverseDns, holder] = await Promise.all([callerName(ctx.deps.reverseDns, source), holderOf(ctx, source)]);
  const body: IpResponse = {
    ip: source.address,
    family: source.family,
    reverseDns,
    egress: egressOf(ctx.deps.config),
    endpoints: ctx.deps.config.endpoints,
    ...holder,
  };
  return ctx.wantsText ? text(200, ipText(body, localNotice(ctx))) : json(200, body);
}
