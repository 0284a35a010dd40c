/// <reference lib="dom" />
/**
 * What the page script tells other page code about its checks, as DOM events on `document`:
 * the regions script (page-regions.ts, inlined on multi-region pages only) follows each check
 * this way, so a one-region page carries none of its code.
 */

/** A check of `ports` has started. */
export const CHECK_STARTED = 'dialback:check-started';

/** The check's answer arrived (`page`), or none did (`page` is `undefined`). */
export const CHECK_ANSWERED = 'dialback:check-answered';

/** `detail` of `CHECK_STARTED`. */
export interface CheckStarted {
  readonly ports: string;
}

/** `detail` of `CHECK_ANSWERED`. */
export interface CheckAnswered {
  /** Where the check's `#primary-check` data is: the server's page, or one made from its IPv4 check. */
  readonly page: ParentNode | undefined;
  /** Why there is no page, when the page script knows better than "no result". */
  readonly failure?: string;
}
