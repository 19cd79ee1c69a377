import { rm } from 'node:fs/promises';
import type { GlobalState } from './global-setup';
import { runOnServer } from './test-database';

/** Drops every database this run made (also those of a test file that crashed), then stops. */
export default async function globalTeardown(): Promise<void> {
  const serverUrl = process.env.GATEHOUSE_TEST_SERVER_URL;
  const prefix = process.env.GATEHOUSE_TEST_PREFIX;
  if (serverUrl && prefix) {
    const rows = await runOnServer<{ datname: string }>(
      serverUrl,
      `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`,
      [`${prefix}_`],
    );
    for (const { datname } of rows) {
      await runOnServer(serverUrl, `DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
  }
  const state = (globalThis as GlobalState).gatehouseEmbedded;
  if (state) {
    await state.embedded.stop();
    await rm(state.dataDir, { recursive: true, force: true });
  }
}
