/**
 * The amplification bound of SECURITY.md, counted on the wire: an nftables counter in a
 * network namespace counts every SYN the probe sends to a port that drops them, at the
 * default settings (5 attempts 250 ms apart, 3 s deadline). Linux 6.5+ retransmits an
 * unanswered SYN every 1 s for the first 4 retries (`tcp_syn_linear_timeouts`, default 4;
 * older kernels back off 1 s, 2 s, 4 s …), so each socket sends at most 3 SYNs inside 3 s,
 * plus one if the first socket's 3 s retransmission beats the deadline timer: ≤ 16 per port.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS } from '../../functions/core/config.ts';
import { DEFAULT_ATTEMPT_SPACING_MS, probePort } from '../../functions/core/probe.ts';
import { counterPackets, createHostLink, type HostLink, labSkipReason } from '../support/netns.ts';

/** The bound SECURITY.md states per filtered port at the defaults. */
const MAX_SYNS_PER_PORT = 16;

const unsupported = await labSkipReason('amplification test');

describe.runIf(unsupported === undefined)('SYNs sent per filtered port', () => {
  let link: HostLink;
  beforeAll(async () => {
    link = await createHostLink('amp');
    await link.nft(`table inet fw {
      counter syns4 {}
      counter syns6 {}
      chain input {
        type filter hook input priority 0; policy accept;
        meta nfproto ipv4 tcp dport 9 tcp flags & (syn | ack) == syn counter name syns4 drop;
        meta nfproto ipv6 tcp dport 9 tcp flags & (syn | ack) == syn counter name syns6 drop;
      }
    }`);
  });
  afterAll(async () => {
    await link?.destroy();
  });

  for (const family of [4, 6] as const) {
    it(`stays within ${MAX_SYNS_PER_PORT} SYNs at the default settings (IPv${family})`, async () => {
      const result = await probePort({ address: family === 4 ? link.v4 : link.v6, family }, 9, {
        timeoutMs: CONFIG_DEFAULTS.probeTimeoutMs,
        attempts: CONFIG_DEFAULTS.probeAttempts,
        attemptSpacingMs: DEFAULT_ATTEMPT_SPACING_MS,
      });
      expect(result.state).toBe('filtered');
      // Late retransmissions of already-destroyed sockets would show up here too.
      await new Promise((r) => setTimeout(r, 1500));
      const syns = await counterPackets(link, `syns${family}`);
      console.info(`SYNs sent to one filtered port (IPv${family}): ${syns}`);
      expect(syns).toBeGreaterThanOrEqual(CONFIG_DEFAULTS.probeAttempts);
      expect(syns).toBeLessThanOrEqual(MAX_SYNS_PER_PORT);
    });
  }
});
