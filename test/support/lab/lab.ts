/**
 * The verdict lab set up in one call, as the tests and the benchmark all use it: a checker and a
 * client namespace, every firewall row on the client, a SYN counter on the checker, a listener,
 * and optionally Dialback's server for each family. Torn down with `lab.pair.destroy()`.
 */
import { createLabPair, type LabPair } from '../netns.ts';
import { type DialbackServer, startDialback, startListener } from './dialback.ts';
import {
  applySysctls,
  CLASSIC_SYN_BACKOFF,
  checkerRuleset,
  clientRuleset,
  listeningPorts,
  UNLIMITED_ICMP,
} from './rules.ts';

/** A running lab. */
export interface Lab {
  readonly pair: LabPair;
  /** Dialback's server per family, when started. */
  readonly servers: ReadonlyMap<4 | 6, DialbackServer>;
}

/**
 * Sets up the lab. With `serverEnv`, also starts Dialback in the checker on each family's address
 * with those settings. No loss yet: `pair.checker.nft(checkerRuleset(n))` adds it.
 */
export async function startLab(label: string, serverEnv?: Readonly<Record<string, string>>): Promise<Lab> {
  const pair = await createLabPair(label);
  try {
    await applySysctls(pair.client, UNLIMITED_ICMP);
    await applySysctls(pair.checker, CLASSIC_SYN_BACKOFF);
    await pair.client.nft(clientRuleset());
    await pair.checker.nft(checkerRuleset(0));
    await startListener(pair.client, listeningPorts());
    const servers = new Map<4 | 6, DialbackServer>();
    if (serverEnv !== undefined) {
      const started = await Promise.all(
        ([4, 6] as const).map((family) => startDialback(pair.checker, family, serverEnv)),
      );
      started.forEach((server, i) => {
        servers.set(i === 0 ? 4 : 6, server);
      });
    }
    return { pair, servers };
  } catch (error) {
    await pair.destroy();
    throw error;
  }
}
