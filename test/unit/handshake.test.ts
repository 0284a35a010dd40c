import { describe, expect, it } from 'vitest';
import { handshakeWith, isErrorAnswer } from '../../functions/core/probe.ts';

// A socket the runtime called connected is open only if the kernel names the target as its peer.
describe('handshakeWith', () => {
  const v4 = { address: '198.18.7.2', family: 4 } as const;
  const v6 = { address: '2001:db8:0:7::2', family: 6 } as const;

  it('accepts the target and port as the socket peer', () => {
    expect(handshakeWith({ remoteAddress: '198.18.7.2', remotePort: 20106 }, v4, 20106)).toBe(true);
  });

  it('accepts another spelling of the same IPv6 address', () => {
    expect(handshakeWith({ remoteAddress: '2001:DB8:0:7:0::2', remotePort: 443 }, v6, 443)).toBe(true);
    expect(handshakeWith({ remoteAddress: '2001:0db8:0000:0007:0000:0000:0000:0002', remotePort: 443 }, v6, 443)).toBe(
      true,
    );
  });

  it('refuses a socket with no peer: closed under the runtime, its error already taken', () => {
    expect(handshakeWith({ remoteAddress: undefined, remotePort: undefined }, v4, 20106)).toBe(false);
    // Even against a target no address could match: two unreadable addresses are not a match.
    const unreadable = { address: 'not-an-address', family: 4 } as const;
    expect(handshakeWith({ remoteAddress: undefined, remotePort: 20106 }, unreadable, 20106)).toBe(false);
  });

  it('refuses a peer on another port or address: an answer is never credited to the wrong port', () => {
    expect(handshakeWith({ remoteAddress: '198.18.7.2', remotePort: 20105 }, v4, 20106)).toBe(false);
    expect(handshakeWith({ remoteAddress: '198.18.7.3', remotePort: 20106 }, v4, 20106)).toBe(false);
    expect(handshakeWith({ remoteAddress: '2001:db8:0:7::3', remotePort: 443 }, v6, 443)).toBe(false);
  });
});

// The answers a host's ICMP rate limit governs, which pace the rounds: errors, never a handshake or silence.
describe('isErrorAnswer', () => {
  it.each([
    [{ state: 'closed', reason: 'conn-refused' }, true],
    [{ state: 'filtered', reason: 'admin-prohibited' }, true],
    [{ state: 'filtered', reason: 'host-unreach' }, true],
    [{ state: 'open', reason: 'syn-ack' }, false],
    [{ state: 'filtered', reason: 'no-response' }, false],
  ] as const)('%j → %s', (verdict, expected) => {
    expect(isErrorAnswer(verdict)).toBe(expected);
  });
});
