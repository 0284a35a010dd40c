/// <reference lib="dom" />
/**
 * `<dialback-check ports="25565" api="https://…">`: an embeddable port check for onboarding
 * flows ("is your server reachable on 25565?"); `udp="19132"` checks UDP ports, alone or beside
 * `ports`. Served as an ES module at `GET /widget.js`;
 * no dependencies. It renders into shadow DOM, is themed through CSS custom properties and
 * `::part()`, and reports through events:
 * - `dialback-result`, `detail`: `WidgetResult`, the IPv4 `CheckResponse` (checked through the
 *   deployment's IPv4-only endpoint, named by its `/ip`) with `holder`: who holds the address
 *   that `/ip` saw (`ip`, `asn`, `org`, `country`, `networkKind`, `dataDate`), or `null`;
 * - `dialback-families`, `detail`: `FamiliesView`, both families side by side: IPv6 is checked
 *   through the dual-stack endpoint where the caller has IPv6, and the diagnosis of every port
 *   that differs is shown under the results (part `diagnosis`);
 * - `dialback-error`, `detail`: `WidgetErrorDetail` (a 429 carries `retryAfterSeconds`).
 * - `dialback-regions`, `detail`: the `RegionChecks` of a check from every region (below).
 * All bubble and cross the shadow boundary. `check()` runs a check from script too.
 *
 * With the `regions` attribute, the button checks from every region the API lists at
 * `/regions` at once (`checkRegions()`), and shows one column per region with what it means
 * when they disagree; a region that does not answer is an error cell in its own column.
 */
import {
  type CheckResponse,
  createClient,
  DialbackError,
  type Problem,
  type RegionChecks,
} from '../client/dialback-client.ts';
import { checkFamilies, type FamiliesView } from '../client/families.ts';
import { ABSENCE_SHORT } from '../contract/families.ts';
import { doctorAdvice, explanationOf, firstStepOf, stateClass } from '../contract/verdict-text.ts';
import { type Endpoints, type IpResponse, parsePortList, protocolOf } from '../contract/wire.ts';
import { regionsView } from './regions-view.ts';

/** `detail` of the `dialback-error` event. */
export interface WidgetErrorDetail {
  /** HTTP status, 0 when no answer arrived (network, CORS), -1 for bad attributes. */
  readonly status: number;
  readonly message: string;
  /** Seconds until a retry can succeed (429, 503). */
  readonly retryAfterSeconds: number | undefined;
  readonly problem: Problem | undefined;
}

const STYLE = `
:host {
  display: block;
  font: var(--dialback-font, inherit);
  color: var(--dialback-fg, inherit);
  --_open: var(--dialback-open, #137333);
  --_closed: var(--dialback-closed, #b3261e);
  --_filtered: var(--dialback-filtered, #8a5300);
  --_radius: var(--dialback-radius, 6px);
}
:host([hidden]) { display: none; }
[part~="container"] {
  border: 1px solid var(--dialback-border, currentColor);
  border-radius: var(--_radius);
  padding: .75em 1em;
  background: var(--dialback-bg, transparent);
}
[part~="button"] {
  font: inherit;
  cursor: pointer;
  padding: .4em .9em;
  border-radius: var(--_radius);
  border: 1px solid var(--dialback-accent, #1a5fb4);
  background: var(--dialback-accent, #1a5fb4);
  color: var(--dialback-accent-fg, #fff);
}
[part~="button"]:focus-visible { outline: 3px solid var(--dialback-focus, #f5c211); outline-offset: 2px; }
[part~="button"]:disabled { opacity: .6; cursor: default; }
[part~="status"]:empty { display: none; }
[part~="status"] { margin: .5em 0 0; }
[part~="results"] { list-style: none; margin: .5em 0 0; padding: 0; }
[part~="result"] { margin: .25em 0; }
[part~="state"] { font-weight: 700; }
[part~="state-open"] { color: var(--_open); }
[part~="state-closed"] { color: var(--_closed); }
[part~="state-filtered"], [part~="state-open-filtered"], [part~="state-untestable"] { color: var(--_filtered); }
[part~="error"] { color: var(--_closed); margin: .5em 0 0; }
[part~="diagnosis"] { margin: .5em 0 0; padding-left: 1.2em; }
[part~="diagnosis"]:empty { display: none; }
[part~="advice"] { display: block; margin: .15em 0 0; }
[part~="regions-table"] { border-collapse: collapse; margin: .5em 0 0; }
[part~="regions-table"] th, [part~="regions-table"] td { border: 1px solid var(--dialback-border, #999); padding: .2em .6em; text-align: left; }
[part~="regions-caption"] { text-align: left; }
[part~="cell-open"] { color: var(--_open); font-weight: 700; }
[part~="cell-closed"], [part~="cell-error"] { color: var(--_closed); font-weight: 700; }
[part~="cell-filtered"], [part~="cell-untestable"] { color: var(--_filtered); font-weight: 700; }
[part~="diagnoses"] { margin: .5em 0 0; padding-left: 1.2em; }
`;

function sheet(): CSSStyleSheet | undefined {
  // A constructed sheet is CSSOM, not an inline <style>, so it works under a host page's strict CSP.
  try {
    const s = new CSSStyleSheet();
    s.replaceSync(STYLE);
    return s;
  } catch {
    return undefined;
  }
}

/** The TCP (`ports`) and UDP (`udp`) ports the attributes ask for. */
interface Asked {
  readonly tcp: number[];
  readonly udp: number[];
}

/** Parses the `ports` attribute with the API's grammar; the server enforces the count. */
function parsePorts(value: string | null): number[] | undefined {
  if (value === null) return undefined;
  try {
    return parsePortList(value, Number.MAX_SAFE_INTEGER);
  } catch {
    return undefined;
  }
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  part: string,
  textContent?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.setAttribute('part', part);
  if (textContent !== undefined) node.textContent = textContent;
  return node;
}

/** The API base: the `api` attribute, else the origin this module was served from. */
function apiBase(attribute: string | null): string {
  return attribute ?? new URL(import.meta.url).origin;
}

/** Who holds the address `api` saw (its `/ip`), as `dialback-result` carries it. */
export type WidgetHolder = Pick<IpResponse, 'ip' | 'asn' | 'org' | 'country' | 'networkKind' | 'dataDate'>;

/** `detail` of the `dialback-result` event: the check, and who holds the address `/ip` saw (`null` if unknown). */
export type WidgetResult = CheckResponse & { readonly holder: WidgetHolder | null };

/**
 * The deployment's endpoints and who holds the caller's address, from its `/ip` (which spends
 * nothing). One that does not say (older, or unreachable) is checked through `api` alone, over
 * whichever family it is reached, and has no holder.
 */
async function endpointsOf(api: string): Promise<{ endpoints: Endpoints; holder: WidgetHolder | null }> {
  try {
    const { data } = await createClient({ api }).ip();
    const { ip, asn = null, org = null, country = null, networkKind = null, dataDate = null } = data;
    return {
      endpoints: data.endpoints ?? { ipv4: null, dualStack: null },
      holder: asn === null && country === null ? null : { ip, asn, org, country, networkKind, dataDate },
    };
  } catch {
    return { endpoints: { ipv4: null, dualStack: null }, holder: null };
  }
}

/** The custom element. */
export class DialbackCheck extends HTMLElement {
  static readonly observedAttributes = ['ports', 'udp', 'label'];

  readonly #button = element('button', 'button');
  readonly #status = element('p', 'status');
  readonly #results = element('ul', 'results');
  readonly #diagnosis = element('ul', 'diagnosis');
  readonly #regions = element('div', 'regions');
  #busy = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    const styles = sheet();
    if (styles === undefined) root.append(element('style', 'style', STYLE));
    else root.adoptedStyleSheets = [styles];
    this.#button.type = 'button';
    this.#status.setAttribute('role', 'status');
    this.#status.setAttribute('aria-live', 'polite');
    this.#button.addEventListener('click', () => {
      void this.#checkAsAsked();
    });
    const container = element('div', 'container');
    container.append(this.#button, this.#status, this.#results, this.#diagnosis, this.#regions);
    root.append(container);
  }

  connectedCallback(): void {
    this.#label();
    if (this.hasAttribute('autocheck')) void this.#checkAsAsked();
  }

  /** A check from every region with the `regions` attribute, else from the API's own. */
  #checkAsAsked(): Promise<unknown> {
    return this.hasAttribute('regions') ? this.checkRegions() : this.check();
  }

  disconnectedCallback(): void {
    clearTimeout(this.#retryTimer);
  }

  attributeChangedCallback(): void {
    this.#label();
  }

  /** The TCP and UDP ports asked for; `undefined` when neither is given or one is malformed. */
  #asked(): Asked | undefined {
    const tcp = parsePorts(this.getAttribute('ports'));
    const udp = parsePorts(this.getAttribute('udp'));
    const malformed =
      (this.hasAttribute('ports') && tcp === undefined) || (this.hasAttribute('udp') && udp === undefined);
    if (malformed || (tcp === undefined && udp === undefined)) return undefined;
    return { tcp: tcp ?? [], udp: udp ?? [] };
  }

  /** The ports as people read them: `22, 51820/udp`. */
  #names(asked: Asked): string[] {
    return [...asked.tcp.map(String), ...asked.udp.map((p) => `${p}/udp`)];
  }

  #label(): void {
    const asked = this.#asked();
    const own = this.getAttribute('label');
    const names = asked === undefined ? [] : this.#names(asked);
    this.#button.textContent =
      own ?? (names.length === 0 ? 'Check ports' : `Check port${names.length > 1 ? 's' : ''} ${names.join(', ')}`);
  }

  /** Runs a check; resolves with the response, or `undefined` after firing `dialback-error`. */
  check(): Promise<WidgetResult | undefined> {
    return this.#run(
      async (api, asked) => {
        const { endpoints, holder } = await endpointsOf(api);
        const view = await checkFamilies(endpoints, asked, api);
        this.#show(view);
        this.dispatchEvent(new CustomEvent('dialback-families', { detail: view, bubbles: true, composed: true }));
        if (view.v4.kind === 'failed') throw view.v4.error;
        if (view.v4.kind !== 'checked') throw new DialbackError(view.v4.reason, 0, undefined, undefined);
        return { ...view.v4.check, holder };
      },
      (data) => {
        this.dispatchEvent(new CustomEvent('dialback-result', { detail: data, bubbles: true, composed: true }));
      },
    );
  }

  /**
   * Checks from every region the API lists at `/regions`, all at once; resolves with every
   * region's outcome (fires `dialback-regions`), or `undefined` after firing `dialback-error`
   * when `/regions` itself could not be read.
   */
  checkRegions(): Promise<RegionChecks | undefined> {
    return this.#run(
      (api, asked) =>
        // The regions table compares TCP states; UDP is checked region by region, without `regions`.
        asked.udp.length > 0
          ? Promise.reject(
              new DialbackError(
                'The regions attribute compares TCP ports only: drop udp="…", or check UDP in a widget without regions.',
                -1,
                undefined,
                undefined,
              ),
            )
          : createClient({ api }).checkRegions(asked.tcp),
      (checks) => {
        const answered = checks.outcomes.filter((o) => o.ok).length;
        this.#status.textContent = `Checked from ${checks.outcomes.length} regions (${answered} answered).`;
        this.#regions.replaceChildren(regionsView(checks));
        this.dispatchEvent(new CustomEvent('dialback-regions', { detail: checks, bubbles: true, composed: true }));
      },
    );
  }

  /** One run of `work` on the attributes' ports: the busy state, the status line, the errors. */
  async #run<T>(work: (api: string, asked: Asked) => Promise<T>, show: (result: T) => void): Promise<T | undefined> {
    if (this.#busy) return undefined;
    const asked = this.#asked();
    if (asked === undefined) {
      this.#fail({
        status: -1,
        message: 'Set ports="…" (TCP) or udp="…" to one or more ports from 1 to 65535, separated by commas.',
        retryAfterSeconds: undefined,
        problem: undefined,
      });
      return undefined;
    }
    this.#busy = true;
    this.#button.disabled = true;
    this.#button.setAttribute('aria-busy', 'true');
    this.#results.replaceChildren();
    this.#diagnosis.replaceChildren();
    this.#regions.replaceChildren();
    this.#status.setAttribute('part', 'status');
    this.#status.textContent = `Checking ${this.#names(asked).join(', ')}…`;
    try {
      const result = await work(apiBase(this.getAttribute('api')), asked);
      show(result);
      return result;
    } catch (error) {
      const e = error instanceof DialbackError ? error : new DialbackError(String(error), 0, undefined, undefined);
      this.#fail({ status: e.status, message: e.message, retryAfterSeconds: e.retryAfterSeconds, problem: e.problem });
      return undefined;
    } finally {
      this.#busy = false;
      this.#button.removeAttribute('aria-busy');
      if (this.#retryTimer === undefined) this.#button.disabled = false;
    }
  }

  #show(view: FamiliesView): void {
    const v4 = view.v4.kind === 'checked' ? view.v4.check : undefined;
    const v6 = view.v6.kind === 'checked' ? view.v6.check : undefined;
    if (v4 !== undefined) {
      const open = v4.results.filter((r) => r.state === 'open').length;
      const ipv6 =
        v6 === undefined ? '' : ` IPv6 ${v6.ip}: ${v6.results.filter((r) => r.state === 'open').length} open.`;
      this.#status.textContent = `${open} of ${v4.results.length} open on ${v4.ip}.${ipv6}`;
    }
    this.#results.replaceChildren(
      ...(v4?.results ?? []).map((r) => {
        const item = element('li', `result result-${stateClass(r.state)}`);
        item.append(element('span', 'port', `${r.port}/${protocolOf(r)} `));
        if (v6 !== undefined) item.append(element('span', 'family', 'IPv4 '));
        item.append(element('span', `state state-${stateClass(r.state)}`, r.state));
        const other = v6?.results.find((x) => x.port === r.port && protocolOf(x) === protocolOf(r));
        if (other !== undefined) {
          item.append(
            element('span', 'family', ' · IPv6 '),
            element('span', `state state-${stateClass(other.state)}`, other.state),
          );
        }
        item.append(element('span', 'meaning', `: ${explanationOf(r)}`));
        // The first thing to try, for a port that is not open; the page has the rest.
        const step = r.state === 'open' ? undefined : firstStepOf(r);
        if (step !== undefined) item.append(element('span', 'advice', ` ${step.replaceAll('`', '')}`));
        return item;
      }),
    );
    const lines = [...view.notes];
    const doctor = doctorAdvice(apiBase(this.getAttribute('api')), [...(v4?.results ?? []), ...(v6?.results ?? [])]);
    if (doctor !== undefined) lines.push(`${doctor.lead}${doctor.command}`);
    if (view.v6.kind === 'absent') lines.push(ABSENCE_SHORT[view.v6.why]);
    if (view.v6.kind === 'failed') lines.push(`IPv6: ${view.v6.error.message}`);
    this.#diagnosis.replaceChildren(...lines.map((line) => element('li', 'diagnosis-line', line)));
  }

  #fail(detail: WidgetErrorDetail): void {
    const wait = detail.retryAfterSeconds;
    this.#status.setAttribute('part', 'status error');
    this.#status.textContent =
      detail.status === 429 && wait !== undefined
        ? `Too many checks from your address: try again in ${wait} s.`
        : detail.message;
    if (wait !== undefined && (detail.status === 429 || detail.status === 503)) {
      // Keep the button off until the API will answer again, bounded to a day.
      this.#button.disabled = true;
      clearTimeout(this.#retryTimer);
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        this.#button.disabled = false;
      }, Math.min(wait, 86_400) * 1000);
    }
    this.dispatchEvent(new CustomEvent('dialback-error', { detail, bubbles: true, composed: true }));
  }
}

if (!customElements.get('dialback-check')) customElements.define('dialback-check', DialbackCheck);

declare global {
  interface HTMLElementTagNameMap {
    'dialback-check': DialbackCheck;
  }
  interface HTMLElementEventMap {
    'dialback-result': CustomEvent<WidgetResult>;
    'dialback-error': CustomEvent<WidgetErrorDetail>;
    'dialback-regions': CustomEvent<RegionChecks>;
    'dialback-families': CustomEvent<FamiliesView>;
  }
}
