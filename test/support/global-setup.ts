import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { EmbeddedPostgres } from '../../src/database/embedded-postgres';
import { runOnServer, runPrefix, urlForDatabase } from './test-database';

/**
 * Finds the PostgreSQL server for this run: DATABASE_URL's when set, else an embedded one in
 * a temporary directory. Creates and migrates the template database the test files copy.
 */
export default async function globalSetup(): Promise<void> {
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-test-'));
    const embedded = await EmbeddedPostgres.start(dataDir, () => undefined);
    (globalThis as GlobalState).gatehouseEmbedded = { embedded, dataDir };
    serverUrl = embedded.url;
  }
  const prefix = runPrefix(serverUrl, process.pid);
  const template = `${prefix}_template`;
  await runOnServer(serverUrl, `DROP DATABASE IF EXISTS "${template}"`);
  await runOnServer(serverUrl, `CREATE DATABASE "${template}"`);
  const dataSource = new DataSource(dataSourceOptions(urlForDatabase(serverUrl, template)));
  await dataSource.initialize();
  await dataSource.runMigrations();
  await dataSource.destroy();

  process.env.GATEHOUSE_TEST_SERVER_URL = serverUrl;
  process.env.GATEHOUSE_TEST_TEMPLATE = template;
  process.env.GATEHOUSE_TEST_PREFIX = prefix;
}

export interface GlobalState {
  gatehouseEmbedded?: { embedded: EmbeddedPostgres; dataDir: string };
}
