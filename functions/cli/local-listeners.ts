/**
 * What listens on this machine, as far as the CLI can tell without privileges: it tries to bind
 * the port itself, on one family's wildcard address, and reads `EADDRINUSE` as "something is
 * there". The CLI runs on the machine a check dials back, so this explains a port that reads
 * closed over IPv6 while a service is plainly running: it listens over IPv4 only.
 */
import net from 'node:net';

/**
 * Whether something on this machine listens on TCP `port` over `family` (on any of its addresses
 * of that family): `undefined` when the machine will not say (a port below 1024 without the
 * privilege to bind it, a family it does not have).
 */
export async function listensOver(port: number, family: 4 | 6): Promise<boolean | undefined> {
  const probe = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ port, host: family === 6 ? '::' : '0.0.0.0', ipv6Only: family === 6, exclusive: true }, resolve);
    });
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? true : undefined;
  } finally {
    probe.close();
  }
}

/**
 * A line for each TCP port of an IPv6 check that did not read open while something on this
 * machine listens on it over IPv4 alone: the usual reason, and the one fix.
 */
export async function ipv4OnlyNotes(ports: readonly number[]): Promise<string[]> {
  const notes = await Promise.all(
    ports.map(async (port) => {
      const [v4, v6] = await Promise.all([listensOver(port, 4), listensOver(port, 6)]);
      return v4 === true && v6 === false
        ? `${port}/tcp: on this machine the service listens on port ${port} over IPv4 only (0.0.0.0 or an IPv4 address), not over IPv6, so an IPv6 check cannot reach it. Make it listen on :: (every IPv6 address) as well, then check again.`
        : undefined;
    }),
  );
  return notes.filter((note): note is string => note !== undefined);
}
