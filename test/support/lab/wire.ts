/**
 * What the wire says, held against what the probe says. The checker's ruleset records every
 * probe port a SYN-ACK came from (`SYN_ACK_SOURCES`), and its kernel counts the ICMP errors it
 * dropped because the socket was busy (`TcpExtLockDroppedIcmps`). With them a lab run tells a
 * wrong verdict (the probe's fault) from a broken lab (the lab's fault) from an honest miss.
 */
import type { PortResult } from '../../../functions/contract/wire.ts';
import type { LabSide } from '../netns.ts';
import { SYN_ACK_SOURCES } from './rules.ts';

/** A fault of the lab itself (its firewall, a stray listener), never to be read as a verdict. */
export class LabFault extends Error {
  override readonly name = 'LabFault';
}

/** The probe ports a SYN-ACK has reached `checker` from in `family`, since its ruleset was loaded. */
export async function synAckSources(checker: Pick<LabSide, 'exec'>, family: 4 | 6): Promise<ReadonlySet<number>> {
  const out = await checker.exec(['nft', '-j', 'list', 'set', 'inet', 'lab', SYN_ACK_SOURCES[family]]);
  const parsed = JSON.parse(out) as { nftables: Array<{ set?: { elem?: unknown[] } }> };
  const elems = parsed.nftables.find((e) => e.set !== undefined)?.set?.elem ?? [];
  return new Set(elems.filter((e): e is number => typeof e === 'number'));
}

/**
 * Open verdicts among `results` with no SYN-ACK from their port on the wire: a handshake the
 * probe reported but the checker never received. Must be empty; anything else is a probe bug.
 */
export async function openWithoutHandshake(
  checker: Pick<LabSide, 'exec'>,
  family: 4 | 6,
  results: readonly Pick<PortResult, 'port' | 'state'>[],
): Promise<number[]> {
  const seen = await synAckSources(checker, family);
  return [...new Set(results.filter((r) => r.state === 'open' && !seen.has(r.port)).map((r) => r.port))];
}

/**
 * Throws `LabFault` when any of `silentPorts` (ports the lab's client must never accept) has sent
 * the checker a SYN-ACK: then something in the lab answered where its firewall rejects, and no
 * verdict from that lab can be trusted either way.
 */
export async function assertNoHandshakeFrom(checker: LabSide, family: 4 | 6, silentPorts: readonly number[]) {
  const seen = await synAckSources(checker, family);
  const answered = silentPorts.filter((p) => seen.has(p));
  if (answered.length > 0) {
    throw new LabFault(
      `lab fault: the client sent SYN-ACKs from ports ${answered.join(', ')} (IPv${family}), which it must reject`,
    );
  }
}

/** The checker kernel's count of ICMP errors dropped because their socket was locked (per namespace). */
export async function lockDroppedIcmps(side: LabSide): Promise<number> {
  const lines = (await side.exec(['cat', '/proc/net/netstat'])).split('\n');
  const header = lines.findIndex((l) => l.startsWith('TcpExt:'));
  const names = lines[header]?.split(/\s+/) ?? [];
  const values = lines[header + 1]?.split(/\s+/) ?? [];
  const i = names.indexOf('LockDroppedIcmps');
  return i < 0 ? Number.NaN : Number(values[i]);
}
