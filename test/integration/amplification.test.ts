/**
 * The amplification bound of SECURITY.md, counted on the wire: an nftables counter in a
 * network namespace counts every SYN the probe sends to a port that drops them, at the
 * default settings (5 attempts 250 ms apart, 3 s deadline). A kernel with the sysctl
 * `tcp_syn_linear_timeouts` (default 4) retransmits an unanswered SYN every 1 s for the first
 * 4 retries (one without it backs off 1 s, 2 s, 4 s …), so each socket sends at most 3 SYNs inside 3 s,
 * plus one if the first socket's 3 s retransmission beats the deadline timer: ≤ 16 per port.
 * A host that answers other ports of the check with ICMP errors at the pace of its rate limit
 * also gets rounds (one SYN per silent port and one to a rejected port every 250 ms, from
 * 1.25 s until at most 4 s past the deadline): ≤ 24 more per silent port and 24 per check.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS } from '../../functions/core/config.ts';
import { maxRounds } from '../../functions/core/pacing.ts';
import { DEFAULT_ATTEMPT_SPACING_MS, probePort, probePorts } from '../../functions/core/probe.ts';
import { counterPackets, createHostLink, type HostLink, labSkipReason } from '../support/netns.ts';

/** The bound SECURITY.md states per filtered port at the defaults. */
const MAX_SYNS_PER_PORT = 16;
const DEFAULTS = {
  timeoutMs: CONFIG_DEFAULTS.probeTimeoutMs,
  attempts: CONFIG_DEFAULTS.probeAttempts,
  attemptSpacingMs: DEFAULT_ATTEMPT_SPACING_MS,
};
/** Rounds a rate-limiting host can earn: every 250 ms from 0.5 s to 4 s past the 3 s deadline (26). */
const MAX_ROUNDS = maxRounds(DEFAULTS);
/** The rate-limiting host's ports: one dropped, last in the check so no early SYN order clears it. */
const DROPPED = 19;
const REJECTED = [10, 11, 12, 13, 14, 15, 16, 17, 18];

const unsupported = await labSkipReason('amplification test');

// The four checks count on separate counters and ports (and the dropped port sends no ICMP), so
// they run at once: the file takes one check's time, not four.
describe.runIf(unsupported === undefined).concurrent('SYNs sent per filtered port', () => {
  let link: HostLink;
  beforeAll(async () => {
    link = await createHostLink('amp');
    await link.nft(`table inet fw {
      counter syns4 {}
      counter syns6 {}
      counter dropped4 {}
      counter dropped6 {}
      counter rejected4 {}
      counter rejected6 {}
      chain input {
        type filter hook input priority 0; policy accept;
        meta nfproto ipv4 tcp dport 9 tcp flags & (syn | ack) == syn counter name syns4 drop;
        meta nfproto ipv6 tcp dport 9 tcp flags & (syn | ack) == syn counter name syns6 drop;
        meta nfproto ipv4 tcp dport ${DROPPED} tcp flags & (syn | ack) == syn counter name dropped4 drop;
        meta nfproto ipv6 tcp dport ${DROPPED} tcp flags & (syn | ack) == syn counter name dropped6 drop;
        meta nfproto ipv4 tcp dport 10-18 tcp flags & (syn | ack) == syn counter name rejected4 reject;
        meta nfproto ipv6 tcp dport 10-18 tcp flags & (syn | ack) == syn counter name rejected6 reject;
      }
    }`);
  });
  afterAll(async () => {
    await link?.destroy();
  });

  for (const family of [4, 6] as const) {
    it(`stays within ${MAX_SYNS_PER_PORT} SYNs at the default settings (IPv${family})`, async () => {
      const result = await probePort({ address: family === 4 ? link.v4 : link.v6, family }, 9, DEFAULTS);
      expect(result.state).toBe('filtered');
      // Late retransmissions of already-destroyed sockets would show up here too.
      await new Promise((r) => setTimeout(r, 1500));
      const syns = await counterPackets(link, `syns${family}`);
      console.info(`SYNs sent to one filtered port (IPv${family}): ${syns}`);
      expect(syns).toBeGreaterThanOrEqual(CONFIG_DEFAULTS.probeAttempts);
      expect(syns).toBeLessThanOrEqual(MAX_SYNS_PER_PORT);
    });

    it(`stays within ${MAX_SYNS_PER_PORT} + ${MAX_ROUNDS} SYNs per silent port when the host rate-limits its rejects (IPv${family})`, async () => {
      // The namespace keeps Linux's default ICMP rate limit: 9 rejects at once outrun its burst.
      const results = await probePorts({ address: family === 4 ? link.v4 : link.v6, family }, [...REJECTED, DROPPED], {
        ...DEFAULTS,
        checkDeadlineMs: 25_000,
      });
      expect(results.at(-1)).toMatchObject({ port: DROPPED, state: 'filtered' });
      await new Promise((r) => setTimeout(r, 1500));
      const dropped = await counterPackets(link, `dropped${family}`);
      const rejected = await counterPackets(link, `rejected${family}`);
      console.info(
        `SYNs in a 10-port check of a rate-limiting host (IPv${family}): dropped port ${dropped}, 9 rejected ports ${rejected}`,
      );
      expect(dropped).toBeLessThanOrEqual(MAX_SYNS_PER_PORT + MAX_ROUNDS);
      // Each rejected port is silent at most as long; the canary adds one SYN per round.
      expect(rejected).toBeLessThanOrEqual(REJECTED.length * (MAX_SYNS_PER_PORT + MAX_ROUNDS) + MAX_ROUNDS);
    });
  }
});
