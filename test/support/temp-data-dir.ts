import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunWatchdog } from './run-watchdog';

/**
 * A temporary DATA_DIR, for an embedded PostgreSQL started there; `release` removes it. That
 * server runs in a session of its own: should this Jest process end in the middle of the test
 * (Ctrl-C, kill -9), a watchdog stops it and removes the directory (see run-watchdog.ts).
 */
export async function tempDataDir(
  prefix: string,
): Promise<{ dataDir: string; release: () => Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), prefix));
  const watchdog = await RunWatchdog.start(process.cwd());
  watchdog.watch({ dataDir });
  return {
    dataDir,
    release: async () => {
      await rm(dataDir, { recursive: true, force: true });
      watchdog.done();
    },
  };
}
