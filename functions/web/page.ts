/**
 * `GET /`'s view: the human page, rendered on the server so `/?ports=22,80` answers with
 * JavaScript off. The route (`functions/api/page-route.ts`) runs the check and hands this module
 * what to show. Everything dynamic goes through the escaping `html` tag, and the only script and
 * style are inline under SHA-256 hashes in a `default-src 'none'` Content-Security-Policy.
 */
import { createHash } from 'node:crypto';
import { NO_DUAL_STACK_ENDPOINT } from '../contract/families.ts';
import { HOLDER_DATA_CREDIT, holderLine, holderNote } from '../contract/holder-text.ts';
import {
  CGNAT_EXPLAINED,
  CHECK_LIMITS,
  formatDuration,
  STATE_MEANING,
  UDP_STATE_MEANING,
} from '../contract/verdict-text.ts';
import {
  type CheckResponse,
  type Endpoints,
  type IpResponse,
  PORT_LIST_PATTERN,
  type Problem,
  type Region,
} from '../contract/wire.ts';
import { html, rawText, type SafeHtml } from './html.ts';
import { PAGE_STYLE } from './page-style.ts';
import { otherRegionOrigins, primaryCheckData, REGIONS_STYLE, regionsSection } from './regions-section.ts';
import { doctorHint, verdicts, withCode } from './verdict-view.ts';

/** The TCP states, as the page's legend lists them (UDP's own state follows them). */
const TCP_STATES = ['open', 'closed', 'filtered', 'untestable'] as const;

/** Common UDP services offered as one-click checks (each has a payload its servers answer, or, like WireGuard, none). */
export const UDP_PRESETS: ReadonlyArray<{ readonly label: string; readonly ports: string }> = [
  { label: 'WireGuard', ports: '51820' },
  { label: 'Minecraft Bedrock', ports: '19132' },
  { label: 'Source game server', ports: '27015' },
];

/** Common services offered as one-click checks. */
export const PRESETS: ReadonlyArray<{ readonly label: string; readonly ports: string }> = [
  { label: 'SSH', ports: '22' },
  { label: 'Web', ports: '80,443' },
  { label: 'Minecraft', ports: '25565' },
  { label: 'Remote Desktop', ports: '3389' },
  { label: 'Plex', ports: '32400' },
  { label: 'Mail (SMTP)', ports: '25' },
];

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

const STYLE = PAGE_STYLE + REGIONS_STYLE;
// Hash exactly what is placed between the tags.
const STYLE_HASH = sha256(rawText(STYLE).value);
const scriptHashes = new WeakMap<object, string>();
const regionsScriptHashes = new WeakMap<object, string>();

/** The hash of `text` as inlined, computed once per assets object. */
function cachedHash(cache: WeakMap<object, string>, key: object, text: string): string {
  const hash = cache.get(key) ?? sha256(rawText(text).value);
  cache.set(key, hash);
  return hash;
}

/**
 * The page's policy: nothing but its own hashed inline style and script (and, on a multi-region
 * primary, its regions script), and fetches to itself, to the deployment's endpoints (`connect`,
 * origins, where the two families are checked) and to the other regions of its deployment
 * (`regions`, this one first).
 */
export function contentSecurityPolicy(
  script: string | undefined,
  scriptKey: object | undefined,
  connect: readonly string[] = [],
  regions: readonly Region[] = [],
  regionsScript: string | undefined = undefined,
): string {
  let scriptSrc = "'none'";
  if (script !== undefined && scriptKey !== undefined) {
    scriptSrc = cachedHash(scriptHashes, scriptKey, script);
    if (regions.length > 1 && regionsScript !== undefined) {
      scriptSrc += ` ${cachedHash(regionsScriptHashes, scriptKey, regionsScript)}`;
    }
  }
  return [
    "default-src 'none'",
    `script-src ${scriptSrc}`,
    `style-src ${STYLE_HASH}`,
    ["connect-src 'self'", ...new Set([...connect, ...otherRegionOrigins(regions)])].join(' '),
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** A rate-limit window, as the page states the budget: "30 per minute". */
export interface BudgetWindow {
  readonly name: string;
  readonly limit: number;
}

/** Where the caller stands after a request, window by window (the limiter's own standing fits). */
export interface BudgetStanding {
  readonly windows: readonly {
    readonly window: BudgetWindow;
    readonly remaining: number;
    /** Seconds until this window resets. */
    readonly resetSeconds: number;
  }[];
}

/** What the page shows for one request. */
export interface PageView {
  /** The caller's address, when it could be read. */
  readonly source: { readonly address: string; readonly family: 4 | 6 } | undefined;
  /** Why the caller's address cannot be checked, when it cannot. */
  readonly addressNotice: string | undefined;
  /** That a check of this (non-public) address is not a view from the Internet, when it is not. */
  readonly localNotice: string | undefined;
  readonly reverseDns: string | null;
  /** Who holds the address (`GET /ip`'s fields); all null for a non-public one. */
  readonly holder?: Pick<IpResponse, 'asn' | 'org' | 'country' | 'networkKind'>;
  readonly portsInput: string;
  /** What the UDP box held (`udp=`), shown back as typed. */
  readonly udpInput?: string;
  readonly maxPorts: number;
  readonly windows: readonly BudgetWindow[];
  /** The check's answer, when one ran. */
  readonly body: CheckResponse | undefined;
  /** Why the check was refused, when it was. */
  readonly problem: Problem | undefined;
  /** The caller's standing after this request, when it was charged or refused for budget. */
  readonly rate: BudgetStanding | undefined;
  /** The URL this page was served from (scheme and host), for the copyable curl line. */
  readonly baseUrl: string;
  readonly script: string | undefined;
  /** The deployment's endpoints: with both, the page script checks IPv4 and IPv6 side by side. */
  readonly endpoints: Endpoints;
  /** Every region of a multi-region deployment, this one first; empty otherwise. */
  readonly regions: readonly Region[];
  /** The regions script (page-regions.ts), inlined when there are several regions. */
  readonly regionsScript: string | undefined;
}

function resultsSection(view: PageView): SafeHtml {
  if (view.problem !== undefined) {
    // The detail already says when to try again (a 429's "… or all 6 in 45 s.").
    const { problem } = view;
    return html`${primaryCheckData(view.regions, undefined, problem)}<div class="card problem" role="alert"><h3>${problem.title}</h3><p>${problem.detail}</p></div>`;
  }
  const { body } = view;
  if (body === undefined) return html``;
  const open = body.results.filter((r) => r.state === 'open').length;
  return html`${primaryCheckData(view.regions, body, undefined)}<p class="summary"><strong>${open} of ${body.results.length} open</strong> on <span class="mono">${body.ip}</span>, checked from ${body.checkedFrom} with a ${body.timeoutMs} ms deadline per port.</p>
${verdicts(body.results)}
${doctorHint(view.baseUrl, body.results)}`;
}

function budgetText(windows: readonly BudgetWindow[], rate: BudgetStanding | undefined): string {
  if (rate === undefined) {
    const policy = windows.map((w) => `${w.limit} per ${w.name}`).join(' and ');
    return `Each port checked counts against your address's budget: ${policy}.`;
  }
  const parts = rate.windows.map(
    (s) =>
      `${s.remaining} of ${s.window.limit} left this ${s.window.name} (resets in ${formatDuration(s.resetSeconds)})`,
  );
  return `Rate budget: ${parts.join('; ')}.`;
}

/**
 * "AS3320 Deutsche Telekom AG · DE" under the address, the note for a listed hosting, VPN or
 * relay network, and the credit the dataset's licence (CC BY 4.0) asks of a page showing it.
 */
function holderSection(holder: PageView['holder']): SafeHtml {
  const line = holder === undefined ? undefined : holderLine(holder);
  if (holder === undefined || line === undefined) return html``;
  const note = holderNote(holder);
  return html`<p class="meta" id="holder">${line} <small>(<a href="${HOLDER_DATA_CREDIT.url}">${HOLDER_DATA_CREDIT.text}</a>)</small></p>${
    note === undefined ? html`` : html`<p class="card" role="note" id="holder-note">${note}</p>`
  }`;
}

/** The whole page as HTML text. */
export function renderPage(view: PageView): string {
  const address =
    view.source === undefined
      ? html`<p class="address">unknown</p>`
      : html`<p class="address mono" id="address">${view.source.address}</p>
<p class="meta">IPv${view.source.family} · reverse DNS: ${view.reverseDns ?? 'none'}</p>${holderSection(view.holder)}`;
  const notice =
    view.addressNotice === undefined ? html`` : html`<p class="card problem" role="note">${view.addressNotice}</p>`;
  const { ipv4, dualStack } = view.endpoints;
  // One endpoint: IPv4 alone, and why. Both: the script fills in the other family's address.
  const families =
    ipv4 !== null && dualStack === null
      ? html`<p class="meta" id="families">${NO_DUAL_STACK_ENDPOINT}</p>`
      : ipv4 !== null && dualStack !== null
        ? html`<p class="meta" id="families" data-ipv4="${ipv4}" data-dual-stack="${dualStack}">With JavaScript both families are checked, IPv4 through ${ipv4} and IPv6 through ${dualStack}; without it, the family this page came over${view.source === undefined ? '' : html` (IPv${view.source.family})`}.</p>`
        : html``;
  const local =
    view.localNotice === undefined
      ? html``
      : html`<p class="card notice" id="local-notice" role="note">${withCode(view.localNotice)}</p>`;
  const script = view.script === undefined ? html`` : html`<script type="module">${rawText(view.script)}</script>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Dialback: is my port open?</title>
<style>${rawText(STYLE)}</style>
</head>
<body>
<main>
<header>
<h1>Dialback: is my port open?</h1>
<p class="lede">This service connects back to the address your request came from and tells you, in Nmap's words, whether a TCP or UDP port is open, closed or filtered ${view.localNotice === undefined ? 'from the Internet' : 'from this server'}. It never probes any other address and keeps no results.</p>
</header>
<section class="card" aria-labelledby="you">
<h2 id="you">Your address, as seen from here</h2>
${address}
${families}
${notice}
${local}
</section>
<section aria-labelledby="check-heading">
<h2 id="check-heading">Check ports</h2>
<form id="check-form" method="get" action="/" data-max-ports="${view.maxPorts}">
<label for="ports">Ports to check (up to ${view.maxPorts}, separated by commas)</label>
<div class="row">
<input type="text" id="ports" name="ports" value="${view.portsInput}" inputmode="numeric" autocomplete="off" spellcheck="false" pattern="${PORT_LIST_PATTERN}" placeholder="e.g. 22,80,443" aria-describedby="ports-hint">
<button type="submit">Check</button>
</div>
<p class="hint" id="ports-hint">TCP. Whole numbers from 1 to 65535. Each port counts against your rate budget.</p>
<label for="udp">UDP ports (optional: WireGuard, game servers, DNS)</label>
<input type="text" id="udp" name="udp" value="${view.udpInput ?? ''}" inputmode="numeric" autocomplete="off" spellcheck="false" pattern="${PORT_LIST_PATTERN}" placeholder="e.g. 51820" aria-describedby="udp-hint">
<p class="hint" id="udp-hint">Many UDP services never answer a stranger, so a UDP port can read open|filtered: run ${withCode('`dialback listen --udp PORT`')} on the machine to settle it.</p>
</form>
<nav aria-label="Common services">
<ul class="presets">${PRESETS.map((p) => html`<li><a href="/?ports=${p.ports}" data-ports="${p.ports}">${p.label} <span class="mono">${p.ports}</span></a></li>`)}${UDP_PRESETS.map((p) => html`<li><a href="/?udp=${p.ports}" data-udp="${p.ports}">${p.label} <span class="mono">${p.ports}/udp</span></a></li>`)}</ul>
</nav>
</section>
${regionsSection(view.regions, view.script === undefined ? undefined : view.regionsScript)}
<section aria-labelledby="results-heading">
<h2 id="results-heading">Results</h2>
<div id="results" aria-live="polite" tabindex="-1">${resultsSection(view)}</div>
<p id="budget" class="meta">${budgetText(view.windows, view.rate)}</p>
</section>
<section aria-labelledby="limits">
<h2 id="limits">What one check can and cannot tell</h2>
<p>${CHECK_LIMITS}</p>
<ul>${TCP_STATES.map((s) => html`<li>${STATE_MEANING[s]}</li>`)}<li>UDP ${UDP_STATE_MEANING['open|filtered']}</li></ul>
<h3>Is it carrier-grade NAT?</h3>
<p>${CGNAT_EXPLAINED}</p>
</section>
<footer>
<p>Also from a terminal: <code>curl -s ${view.baseUrl}/check/22</code>. For developers: the <a href="/openapi.json">OpenAPI document</a> and the embeddable <a href="/widget.js"><code>&lt;dialback-check&gt;</code> widget</a>.</p>
</footer>
</main>
${script}
</body>
</html>
`.value;
}
