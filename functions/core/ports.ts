/**
 * Port parsing. Strict on purpose: only plain ASCII decimal 1–65535 is a port. `0x50`, `1e3`,
 * ` 80`, `080` or Arabic-Indic digits are refused rather than guessed at, so what is probed is
 * always exactly what the caller wrote.
 */
import { BadRequest } from './errors.ts';

const PORT = /^[1-9][0-9]{0,4}$/;

/** Longest `ports` list text accepted; bounds the work done on hostile input. */
export const MAX_PORT_LIST_LENGTH = 1024;

/** Parses one port; throws `BadRequest` with a message naming the value. */
export function parsePort(raw: string): number {
  if (PORT.test(raw)) {
    const port = Number(raw);
    if (port <= 65535) return port;
  }
  throw new BadRequest(`"${printable(raw)}" is not a TCP port: give a whole number from 1 to 65535, like 443.`);
}

/**
 * Parses a comma-separated list into distinct ports in the order first given. Duplicates count
 * once; more than `maxPorts` distinct ports is refused, never truncated.
 */
export function parsePortList(raw: string, maxPorts: number): number[] {
  if (raw.length > MAX_PORT_LIST_LENGTH) {
    throw new BadRequest(`The ports list is ${raw.length} characters long; at most ${maxPorts} ports are accepted.`);
  }
  if (raw === '') throw new BadRequest(`The ports list is empty: give one to ${maxPorts} ports, like ports=22,80,443.`);
  const ports: number[] = [];
  for (const item of raw.split(',')) {
    if (item === '')
      throw new BadRequest('The ports list has an empty item: separate ports with single commas, like 22,80.');
    const port = parsePort(item);
    if (!ports.includes(port)) ports.push(port);
  }
  if (ports.length > maxPorts) {
    throw new BadRequest(`${ports.length} distinct ports were asked for; at most ${maxPorts} are checked per request.`);
  }
  return ports;
}

/** Shows a caller's value in a message without control characters and bounded in length. */
export function printable(value: string, max = 40): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  const clean = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
