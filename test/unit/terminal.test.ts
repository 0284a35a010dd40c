import { describe, expect, it } from 'vitest';
import { colourStates } from '../../functions/cli/terminal.ts';

describe('colourStates', () => {
  const table = [
    'PORT       STATE          REASON',
    '22/tcp     open           syn-ack',
    '23/tcp     closed         conn-refused',
    '53/udp     open|filtered  no-response',
    '51820/udp  closed         port-unreach',
    '25/tcp     untestable     blocked',
    '9/udp      filtered       admin-prohibited',
    'open ports: 1',
  ].join('\n');

  it('colours the state of TCP and UDP rows alike, open|filtered as one state', () => {
    const coloured = colourStates(table, true).split('\n');
    expect(coloured[1]).toBe('22/tcp     \x1b[32mopen\x1b[0m           syn-ack');
    expect(coloured[2]).toBe('23/tcp     \x1b[31mclosed\x1b[0m         conn-refused');
    expect(coloured[3]).toBe('53/udp     \x1b[33mopen|filtered\x1b[0m  no-response');
    expect(coloured[4]).toBe('51820/udp  \x1b[31mclosed\x1b[0m         port-unreach');
    expect(coloured[5]).toBe('25/tcp     \x1b[2muntestable\x1b[0m     blocked');
    expect(coloured[6]).toBe('9/udp      \x1b[33mfiltered\x1b[0m       admin-prohibited');
    // Only the state column of a port row: the header and prose stay as they are.
    expect(coloured[0]).toBe('PORT       STATE          REASON');
    expect(coloured[7]).toBe('open ports: 1');
  });

  it('leaves the text alone when colour is not wanted', () => {
    expect(colourStates(table, false)).toBe(table);
  });
});
