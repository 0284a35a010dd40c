/** errorCode: what tells a socket error's code from anything else thrown. */
import { describe, expect, it } from 'vitest';
import { errorCode } from '../../functions/core/local-failure.ts';

describe('errorCode', () => {
  it('reads a string code and nothing else', () => {
    expect(errorCode(Object.assign(new Error('x'), { code: 'EMFILE' }))).toBe('EMFILE');
    expect(errorCode(new Error('no code'))).toBeUndefined();
    expect(errorCode(Object.assign(new Error('x'), { code: 24 }))).toBeUndefined();
    expect(errorCode(undefined)).toBeUndefined();
  });
});
