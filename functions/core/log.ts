/**
 * Structured logging: one JSON object per line on stdout, which CloudWatch and `jq` both read.
 * Nothing here may carry a caller's address; `redactAddresses` scrubs free text that might.
 */

/** A log sink; tests pass one that collects lines. */
export type Log = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

/**
 * Writes JSON lines to `write` (stdout by default), shaped as Lambda's JSON log format reads an
 * application line: `level` in capitals and an RFC 3339 `timestamp`. Lambda counts a line
 * without both as INFO, so an application log level of WARN would drop the error lines too.
 */
export function createLog(write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Log {
  return (level, message, fields = {}) => {
    // The fields come after, but must not replace the two keys Lambda filters on.
    const { level: _level, timestamp: _timestamp, ...rest } = fields;
    write(JSON.stringify({ level: level.toUpperCase(), message, timestamp: new Date().toISOString(), ...rest }));
  };
}

const IPV4 = /\b\d{1,3}(?:\.\d{1,3}){3}\b/g;
const IPV6 = /\[?\b[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}\b\]?/g;

/** Replaces anything shaped like an IP address, for error texts we did not write ourselves. */
export function redactAddresses(text: string): string {
  return text
    .replace(IPV6, (m) => (m.includes('::') || m.split(':').length > 3 ? '<address>' : m))
    .replace(IPV4, '<address>');
}
