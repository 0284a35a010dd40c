/**
 * What the CLI does differently on a terminal: colour the states (only on a TTY, and never
 * when `NO_COLOR` is set, per no-color.org), and keep one progress line on stderr while ports
 * are waited on (a filtered port takes the whole probe deadline). Piped, neither appears.
 */

const CODES = { green: 32, red: 31, yellow: 33, dim: 2, bold: 1 } as const;
const STATE_COLOUR = {
  open: 'green',
  closed: 'red',
  filtered: 'yellow',
  'open|filtered': 'yellow',
  untestable: 'dim',
} as const;

/** Whether to colour a stream: a TTY, `NO_COLOR` unset or empty, and a terminal that is not dumb. */
export function colourWanted(isTty: boolean, env: Readonly<Record<string, string | undefined>>): boolean {
  return isTty && (env.NO_COLOR ?? '') === '' && env.TERM !== 'dumb';
}

/** Wraps `text` in an SGR colour when `enabled`. */
export function paint(text: string, colour: keyof typeof CODES, enabled: boolean): string {
  return enabled ? `\x1b[${CODES[colour]}m${text}\x1b[0m` : text;
}

/** Colours the state word of each `PORT/tcp  STATE` or `PORT/udp  STATE` row of a rendered table. */
export function colourStates(text: string, enabled: boolean): string {
  if (!enabled) return text;
  return text.replace(
    /^(\d+\/(?:tcp|udp)\s+)(open\|filtered|open|closed|filtered|untestable)(?=\s|$)/gm,
    (_, head: string, state: keyof typeof STATE_COLOUR) => `${head}${paint(state, STATE_COLOUR[state], true)}`,
  );
}

/** A running progress line; `stop()` erases it before the answer is printed. */
export interface Progress {
  stop(): void;
}

/** How often the elapsed time on the progress line is updated. */
const TICK_MS = 1000;

/**
 * Shows `label… N s` on stderr, redrawn in place every second, when `enabled` (stderr is a
 * TTY); otherwise does nothing at all.
 */
export function startProgress(write: (text: string) => void, label: string, enabled: boolean): Progress {
  if (!enabled) return { stop: () => undefined };
  const started = Date.now();
  const draw = (): void => {
    const seconds = Math.round((Date.now() - started) / 1000);
    write(`\r\x1b[2K${label}…${seconds > 0 ? ` ${seconds} s` : ''}`);
  };
  draw();
  const timer = setInterval(draw, TICK_MS);
  // The line never keeps the process alive on its own.
  timer.unref?.();
  return {
    stop: () => {
      clearInterval(timer);
      write('\r\x1b[2K');
    },
  };
}
