import { rm } from 'node:fs/promises';
import type { GlobalState } from './global-setup';
import { runOnServer } from './test-database';

/**
 * Drops every database this run made (also those of a test file that crashed), then stops.
 * Done, it tells the watchdog (see global-setup.ts) that there is nothing left for it to do;
 * should it fail on the way, the watchdog does the rest once Jest has ended.
 */
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
  const state = (globalThis as GlobalState).gatehouseRun;
  if (state?.embedded) await state.embedded.stop();
  if (state?.dataDir) await rm(state.dataDir, { recursive: true, force: true });
  state?.watchdog.done();
}
