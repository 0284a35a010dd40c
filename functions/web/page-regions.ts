/// <reference lib="dom" />
/**
 * The page's checks from the other regions of a multi-region deployment, a script of its own that
 * only a multi-region primary's page carries. Its `#regions-section` lists the regions; each check
 * the page script runs (the primary's, rendered by the server; page-events.ts) is also run from
 * every other region, straight from the browser to that region's API, and the answers fill one
 * column each with the diagnosis. The primary's column is read from the check the page already
 * ran, so nothing is spent twice.
 */
import { checkFromRegions } from '../client/dialback-client.ts';
import type { RegionOutcome } from '../contract/regions.ts';
import { type CheckResponse, type Problem, parsePortList, type Region } from '../contract/wire.ts';
import { CHECK_ANSWERED, CHECK_STARTED, type CheckAnswered, type CheckStarted } from './page-events.ts';
import { regionsView } from './regions-view.ts';

/** What the page script reports back once the primary's own check is in. */
interface RegionRun {
  /** The primary's answer, read from the page the server rendered for this check. */
  primary(page: ParentNode): void;
  /** The primary gave no page at all (network failure, bare 500). */
  primaryFailed(message: string): void;
}

function listedRegions(section: HTMLElement | null): Region[] {
  try {
    const regions: unknown = JSON.parse(section?.dataset.regions ?? '[]');
    return Array.isArray(regions) ? (regions as Region[]) : [];
  } catch {
    return [];
  }
}

/** The primary's outcome from the `#primary-check` data the server put beside its verdicts. */
function primaryOutcome(region: Region, page: ParentNode): RegionOutcome {
  const raw = page.querySelector<HTMLElement>('#primary-check')?.dataset.answer;
  try {
    const answer = JSON.parse(raw ?? 'null') as { check?: CheckResponse; problem?: Problem } | null;
    if (answer?.check !== undefined) return { region, ok: true, check: answer.check };
    if (answer?.problem !== undefined) {
      return { region, ok: false, error: { status: answer.problem.status, message: answer.problem.detail } };
    }
  } catch {
    // Unreadable data is the same as none.
  }
  return { region, ok: false, error: { status: 0, message: 'the page carried no result' } };
}

/**
 * Starts the other regions' checks of `ports` now; `undefined` on a page of one region. The
 * table appears once every region, the primary included, has answered or failed.
 */
function startRegionChecks(ports: string): RegionRun | undefined {
  const section = document.querySelector<HTMLElement>('#regions-section');
  const target = section?.querySelector<HTMLElement>('#regions-results');
  const [primary, ...others] = listedRegions(section ?? null);
  if (target === null || target === undefined || primary === undefined || others.length === 0) return undefined;
  let list: number[];
  try {
    list = parsePortList(ports, Number.MAX_SAFE_INTEGER);
  } catch {
    return undefined;
  }
  const status = document.createElement('p');
  status.className = 'checking';
  status.textContent = `Checking from ${[primary, ...others].map((r) => r.name).join(', ')}…`;
  target.setAttribute('aria-busy', 'true');
  target.replaceChildren(status);
  const fromOthers = checkFromRegions(others, list);
  let settle: (outcome: RegionOutcome) => void = () => undefined;
  const fromPrimary = new Promise<RegionOutcome>((resolve) => {
    settle = resolve;
  });
  void Promise.all([fromPrimary, fromOthers]).then(([own, rest]) => {
    target.replaceChildren(regionsView({ ports: list, outcomes: [own, ...rest] }));
    target.removeAttribute('aria-busy');
  });
  return {
    primary: (page) => settle(primaryOutcome(primary, page)),
    primaryFailed: (message) => settle({ region: primary, ok: false, error: { status: 0, message } }),
  };
}

let current: RegionRun | undefined;
document.addEventListener(CHECK_STARTED, (event) => {
  current = startRegionChecks((event as CustomEvent<CheckStarted>).detail.ports);
});
document.addEventListener(CHECK_ANSWERED, (event) => {
  const { page, failure } = (event as CustomEvent<CheckAnswered>).detail;
  if (page === undefined) current?.primaryFailed(failure ?? 'the page did not answer with a result');
  else current?.primary(page);
  current = undefined;
});

// A page the server rendered with a check (`/?ports=…` opened directly, or reloaded) gets its
// other columns too, as a check from the form would.
const rendered = new URLSearchParams(location.search).get('ports');
if (rendered !== null && document.querySelector('#primary-check') !== null) {
  startRegionChecks(rendered)?.primary(document);
}
