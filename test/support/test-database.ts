import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * Each e2e test file gets its own database, copied from a template that global-setup.ts
 * migrated once: a clean database in milliseconds, and no test sees another file's rows.
 */
export interface TestDatabase {
  name: string;
  url: string;
  query<T extends pg.QueryResultRow = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<T[]>;
  drop(): Promise<void>;
}

export function urlForDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function runOnServer<T extends pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/**
 * Names of this run's databases start with this and `_`, so teardown (and the watchdog) finds
 * every one of them and none of another run's. At most 40 characters, the rest of the 63 left
 * for suffixes: the database's name is cut, never the process id (a long DATABASE_URL name cut
 * it off, and every run on that database had the same prefix; found by review).
 */
export function runPrefix(serverUrl: string, pid: number): string {
  const base = new URL(serverUrl).pathname.slice(1).replace(/[^a-z0-9_]/gi, '_') || 'postgres';
  const run = `_gh${pid}`;
  return `${base.slice(0, 40 - run.length)}${run}`.toLowerCase();
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.GATEHOUSE_TEST_SERVER_URL;
  const template = process.env.GATEHOUSE_TEST_TEMPLATE;
  const prefix = process.env.GATEHOUSE_TEST_PREFIX;
  if (!serverUrl || !template || !prefix) {
    throw new Error('The e2e global setup did not run (see jest.config.mjs)');
  }
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await runOnServer(serverUrl, `CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  const url = urlForDatabase(serverUrl, name);
  return {
    name,
    url,
    query: (sql, params) => runOnServer(url, sql, params),
    drop: async () => {
      await runOnServer(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}
