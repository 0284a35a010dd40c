/**
 * The open port and the closed port most end-to-end test files check, set up once per file:
 * a loopback listener (reads open) and a port just released (reads closed).
 */
import { forFile } from './per-file.ts';
import { type Listening, listening, releasedPort } from './ports.ts';

/** The file's two ports; read them in hooks and tests, once the file's set-up has run. */
export interface PortPair {
  /** A port with a listener that accepts and drops connections. */
  readonly open: number;
  /** A port nothing listens on. */
  readonly closed: number;
  /** The listener behind `open`, for counting what it accepted. */
  readonly listener: Listening;
}

/**
 * Registers the pair's set-up and tear-down in the calling test file (call it at module scope,
 * before the file's own `beforeAll`, so those hooks can use the ports).
 */
export function portPairForFile(host = '127.0.0.1'): PortPair {
  const current = forFile(
    'the port pair',
    async () => ({ listener: await listening(host), closed: await releasedPort(host) }),
    ({ listener }) => listener.close(),
  );
  return {
    get open() {
      return current().listener.port;
    },
    get closed() {
      return current().closed;
    },
    get listener() {
      return current().listener;
    },
  };
}
