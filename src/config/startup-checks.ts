import { createServer, isIP } from 'node:net';
import pg from 'pg';

/**
 * Checks main.ts runs before it starts anything, so that a start that cannot succeed stops
 * with one line naming the variable (CONTRACT 1) and nothing half-started. Found by review: a
 * PORT in use was only found by the last step, after the embedded cluster had been created,
 * migrated and seeded and the bootstrap admin's keys printed with a URL that could not work,
 * and it ended in some sixty lines of log that never named PORT; a DATABASE_URL whose
 * database does not exist (or refuses the password) printed stack traces of every retry.
 */

/** Why Gatehouse cannot listen on `host`:`port`, naming the variable; undefined if it can. */
export async function listenProblem(host: string, port: number): Promise<string | undefined> {
  const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const server = createServer();
    server.once('error', resolve);
    server.listen(port, host, () => server.close(() => resolve(undefined)));
  });
  if (!error) return undefined;
  const address = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  switch (error.code) {
    case 'EADDRINUSE':
      return `PORT (${port}): ${address} is already in use`;
    case 'EACCES':
      return `PORT (${port}): not allowed to listen on ${address} (ports below 1024 need privileges)`;
    case 'EADDRNOTAVAIL':
      return `HOST (${host}): not an address of this machine`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return `HOST (${host}): no such host name`;
    default:
      return `HOST (${host}), PORT (${port}): cannot listen on ${address}: ${error.message}`;
  }
}

/** Connection failures worth another try: the server may be starting (as with TypeORM's retries). */
const TRANSIENT = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P03']);

/**
 * Why the database at `url` cannot be used: the server's or the network's own message (it never
 * holds the password), or undefined once `SELECT 1` answered. A refused or reset connection is
 * tried `attempts` times, `delayMs` apart; a missing database or a refused password at once.
 */
export async function databaseProblem(
  url: string,
  { attempts = 3, delayMs = 1000, timeoutMs = 5000 } = {},
): Promise<string | undefined> {
  for (let attempt = 1; ; attempt++) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
    // A connection lost after the check is none of its business.
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return undefined;
    } catch (error) {
      const { code, message } = error as { code?: string; message?: string };
      const transient = code === undefined ? /timeout/i.test(message ?? '') : TRANSIENT.has(code);
      if (!transient || attempt >= attempts) return message || String(error);
    } finally {
      // Not awaited: end() can wait for a server that stopped answering (STACK-NOTES).
      void client.end().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}

/** `scheme://host:port`, with an IPv6 host in brackets (RFC 3986). */
export function serviceUrl(scheme: string, host: string, port: number): string {
  return `${scheme}://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}
