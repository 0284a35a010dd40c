/** errorCode and LocalProbeError: what tells a socket error's code from anything else thrown. */
import { describe, expect, it } from 'vitest';
import { errorCode, LocalProbeError } from '../../functions/core/local-failure.ts';

describe('errorCode', () => {
  it('reads a string code and nothing else', () => {
    expect(errorCode(Object.assign(new Error('x'), { code: 'EMFILE' }))).toBe('EMFILE');
    expect(errorCode(new Error('no code'))).toBeUndefined();
    expect(errorCode(Object.assign(new Error('x'), { code: 24 }))).toBeUndefined();
    expect(errorCode(undefined)).toBeUndefined();
  });
});

describe('LocalProbeError', () => {
  it('names the socket code in its message, which the log records', () => {
    const cause = new Error('accept failed');
    const error = new LocalProbeError('EMFILE', { cause });
    expect(error).toMatchObject({ name: 'LocalProbeError', code: 'EMFILE', cause });
    expect(error.message).toBe('the checker could not open a connection (EMFILE)');
  });
});
