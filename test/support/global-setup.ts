import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { EmbeddedPostgres } from '../../src/database/embedded-postgres';
import { RunWatchdog } from './run-watchdog';
import { runOnServer, runPrefix, urlForDatabase } from './test-database';

/**
 * Finds the PostgreSQL server for this run: DATABASE_URL's when set, else an embedded one in
 * a temporary directory. Creates and migrates the template database the test files copy.
 *
 * Jest skips the global teardown when it is stopped (Ctrl-C) or dies; the embedded server
 * runs in a session of its own and would outlive it. So a watchdog process is told about
 * each thing made here before it is made, and cleans up if Jest ends without the teardown.
 */
export default async function globalSetup(
  _globalConfig: unknown,
  projectConfig: { rootDir: string },
): Promise<void> {
  const watchdog = await RunWatchdog.start(projectConfig.rootDir);
  const state: GlobalState['gatehouseRun'] = { watchdog };
  (globalThis as GlobalState).gatehouseRun = state;

  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-test-'));
    watchdog.watch({ dataDir });
    state.dataDir = dataDir;
    state.embedded = await EmbeddedPostgres.start(dataDir, () => undefined);
    serverUrl = state.embedded.url;
  }
  const prefix = runPrefix(serverUrl, process.pid);
  // The embedded server goes as a whole; on another server, the databases named after the run.
  if (!state.embedded) watchdog.watch({ serverUrl, prefix });
  const template = `${prefix}_template`;
  await runOnServer(serverUrl, `DROP DATABASE IF EXISTS "${template}"`);
  await runOnServer(serverUrl, `CREATE DATABASE "${template}"`);
  const dataSource = new DataSource(dataSourceOptions(urlForDatabase(serverUrl, template)));
  await dataSource.initialize();
  await dataSource.runMigrations();
  // Test databases are not new: a main started on a copy does not seed the demo data into it.
  await dataSource.query(`UPDATE demo_data_state SET pending = false`);
  await dataSource.destroy();

  process.env.GATEHOUSE_TEST_SERVER_URL = serverUrl;
  process.env.GATEHOUSE_TEST_TEMPLATE = template;
  process.env.GATEHOUSE_TEST_PREFIX = prefix;
}

export interface GlobalState {
  gatehouseRun?: { watchdog: RunWatchdog; embedded?: EmbeddedPostgres; dataDir?: string };
}
