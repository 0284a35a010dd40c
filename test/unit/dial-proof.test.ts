/** The dial-proof token: its bounds and charset, the one line the probe sends, fresh tokens. */
import { describe, expect, it } from 'vitest';
import { newToken, proofLine, TOKEN_PATTERN } from '../../functions/contract/dial-proof.ts';
import { parseToken } from '../../functions/core/dial-proof.ts';
import { BadRequest } from '../../functions/core/errors.ts';

describe('parseToken', () => {
  it.each(['a'.repeat(16), 'Z'.repeat(64), 'abcXYZ0189_-abcdef', '0123456789-_AZaz0123'])('accepts %s', (token) => {
    expect(parseToken(token)).toBe(token);
  });

  it.each([
    ['15 characters', 'a'.repeat(15)],
    ['65 characters', 'a'.repeat(65)],
    ['empty', ''],
    ['a space', `${'a'.repeat(16)} `],
    ['a newline that would add a second line', `${'a'.repeat(16)}\nEXTRA`],
    ['a dot', `${'a'.repeat(16)}.`],
    ['a slash', `/${'a'.repeat(16)}`],
    ['a plus', `${'a'.repeat(16)}+`],
    ['non-ASCII', `${'a'.repeat(16)}é`],
  ])('rejects a token with %s, without echoing it', (_label, token) => {
    let thrown: unknown;
    try {
      parseToken(token);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BadRequest);
    const message = (thrown as BadRequest).message;
    expect(message).toMatch(/16 to 64 characters/);
    expect(message).toContain('A-Z, a-z, 0-9, "-" or "_"');
    if (token !== '') expect(message).not.toContain(token);
  });

  it('matches the exported pattern exactly', () => {
    expect(TOKEN_PATTERN.test('a'.repeat(16))).toBe(true);
    expect(TOKEN_PATTERN.test(`x${'a'.repeat(16)}!`)).toBe(false);
  });
});

describe('proofLine', () => {
  it('is one line: the word DIALBACK, a space, the token, a newline', () => {
    expect(proofLine('abcdefghijklmnop')).toBe('DIALBACK abcdefghijklmnop\n');
  });
});

describe('newToken', () => {
  it('makes 128-bit base64url tokens the parser accepts, different each time', () => {
    const tokens = Array.from({ length: 50 }, () => newToken());
    for (const token of tokens) {
      expect(token).toHaveLength(22);
      expect(parseToken(token)).toBe(token);
    }
    expect(new Set(tokens).size).toBe(tokens.length);
  });
});
