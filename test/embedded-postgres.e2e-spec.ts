import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EmbeddedPostgres } from '../src/database/embedded-postgres';
import { tempDataDir } from './support/temp-data-dir';
import { runOnServer } from './support/test-database';

/**
 * EmbeddedPostgres.start() on a DATA_DIR in the states that concurrent and interrupted first
 * starts leave behind (found by review). Each test makes one cluster (initdb takes seconds).
 */

/** The servers a test started, stopped after it; the first stop of this process stops them. */
let started: EmbeddedPostgres[] = [];

/** A temporary DATA_DIR (see support/temp-data-dir.ts); releasing it stops the test's servers first. */
async function embeddedDataDir(): Promise<{ dataDir: string; release: () => Promise<void> }> {
  const { dataDir, release } = await tempDataDir('gatehouse-embedded-');
  return {
    dataDir,
    release: async () => {
      for (const server of started) await server.stop().catch(() => undefined);
      started = [];
      await release();
    },
  };
}

async function start(dataDir: string): Promise<EmbeddedPostgres> {
  const server = await EmbeddedPostgres.start(dataDir, () => undefined);
  started.push(server);
  return server;
}

async function selectOne(url: string): Promise<number> {
  const [{ one }] = await runOnServer<{ one: number }>(url, 'SELECT 1 AS one');
  return one;
}

/** The id of a process that has ended. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid;
}

describe('the embedded PostgreSQL (src/database/embedded-postgres.ts)', () => {
  it('makes one cluster for two first starts at once on a DATA_DIR, which both use', async () => {
    const { dataDir, release } = await embeddedDataDir();
    try {
      // Each wrote its own password and ran initdb: one failed, the other's cluster had a
      // password other than the file's, and no start on that DATA_DIR could log in again.
      const [a, b] = await Promise.all([start(dataDir), start(dataDir)]);
      expect(await selectOne(a.url)).toBe(1);
      expect(await selectOne(b.url)).toBe(1);
      const password = (await readFile(join(dataDir, 'postgres.password'), 'utf8')).trim();
      expect(new URL(a.url).password).toBe(password);
      expect(b.url).toBe(a.url);
      await a.stop(); // stops the server: both are this process's
      started = [];

      const c = await start(dataDir);
      expect(await selectOne(c.url)).toBe(1);
    } finally {
      await release();
    }
  }, 90_000);

  it('recovers from a first start killed during initdb', async () => {
    const { dataDir, release } = await embeddedDataDir();
    try {
      const pid = deadPid();
      // What a start killed during initdb leaves: its lock, initdb's half-made directory (or,
      // from an earlier Gatehouse, an empty one where initdb removed what it had made), and the
      // password file written before initdb.
      await writeFile(join(dataDir, 'start.lock'), String(pid));
      await mkdir(join(dataDir, `postgres.init-${pid}`, 'base'), { recursive: true });
      await writeFile(join(dataDir, `postgres.init-${pid}`, 'PG_VERSION'), '18\n');
      await mkdir(join(dataDir, 'postgres'));
      await writeFile(join(dataDir, 'postgres.password'), 'the-password-of-the-killed-start');

      const server = await start(dataDir);
      expect(new URL(server.url).password).toBe('the-password-of-the-killed-start');
      expect(await selectOne(server.url)).toBe(1);
    } finally {
      await release();
    }
  }, 60_000);

  it('says in one line what to do about a postgres directory that holds no cluster', async () => {
    const { dataDir, release } = await embeddedDataDir();
    try {
      await mkdir(join(dataDir, 'postgres'));
      await writeFile(join(dataDir, 'postgres', 'postgresql.conf'), '');
      await expect(start(dataDir)).rejects.toThrow(
        /^\S+\/postgres holds no complete PostgreSQL cluster \(.*\); delete that directory to start afresh$/,
      );
    } finally {
      await release();
    }
  }, 30_000);

  it('serves on loopback TCP only, also a cluster whose postgresql.conf lacks those lines', async () => {
    const { dataDir, release } = await embeddedDataDir();
    try {
      const first = await start(dataDir);
      await first.stop();
      started = [];
      // A first start killed just after initdb did not add them, and the server had a Unix
      // socket in /tmp from then on (found by review).
      const confFile = join(dataDir, 'postgres', 'postgresql.conf');
      const conf = await readFile(confFile, 'utf8');
      const stripped = conf.replace(/^(listen_addresses|unix_socket_directories) = .*$/gm, '');
      expect(stripped).not.toBe(conf);
      await writeFile(confFile, stripped);

      const server = await start(dataDir);
      const [settings] = await runOnServer<{ sockets: string; addresses: string }>(
        server.url,
        `SELECT current_setting('unix_socket_directories') AS sockets,
                current_setting('listen_addresses') AS addresses`,
      );
      expect(settings).toEqual({ sockets: '', addresses: '127.0.0.1' });
    } finally {
      await release();
    }
  }, 60_000);
});
