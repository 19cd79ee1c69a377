import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { EmbeddedPostgres } from '../src/database/embedded-postgres';
import { RunWatchdog, WatchdogNotice } from './support/run-watchdog';
import { runOnServer, runPrefix, urlForDatabase } from './support/test-database';

/**
 * The watchdog global-setup.ts starts (test/support/run-watchdog-process.mjs): when the Jest process
 * ends without its global teardown (Ctrl-C, a crash, SIGKILL), it stops the run's embedded
 * PostgreSQL and removes its directory, or drops the run's databases on a DATABASE_URL server.
 * Here the "Jest process" is a `sleep` holding the watchdog's pipe, killed with SIGKILL.
 */

interface Watched {
  watchdog: RunWatchdog;
  /** Stands for Jest: the only holder of the pipe to the watchdog. */
  jest: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
}

async function watch(notices: WatchdogNotice[]): Promise<Watched> {
  const watchdog = await RunWatchdog.start(process.cwd(), 'pipe');
  let stderr = '';
  watchdog.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => watchdog.child.on('exit', resolve));
  for (const notice of notices) watchdog.watch(notice);
  // The pipe's writing end goes to `sleep` (its stdout) and is closed here.
  const jest = spawn('sleep', ['60'], { stdio: ['ignore', watchdog.child.stdin!, 'ignore'] });
  await new Promise((resolve) => jest.once('spawn', resolve));
  watchdog.child.stdin!.destroy();
  return { watchdog, jest, exited, stderr: () => stderr };
}

/** `promise`'s value, or a failure naming `what` after `ms`. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('the e2e run watchdog (test/support/run-watchdog-process.mjs)', () => {
  it('stops the embedded PostgreSQL and removes its directory when Jest is killed', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-watchdog-'));
    // This test's own cluster outlives a Ctrl-C too: a watchdog of this Jest worker guards it.
    const guard = await RunWatchdog.start(process.cwd());
    guard.watch({ dataDir });
    const embedded = await EmbeddedPostgres.start(dataDir, () => undefined);
    try {
      await runOnServer(embedded.url, 'SELECT 1');
      const watched = await watch([{ dataDir }]);
      // Still running while "Jest" runs.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(watched.watchdog.child.exitCode).toBeNull();

      watched.jest.kill('SIGKILL');
      expect(await within(15_000, 'watchdog exit', watched.exited)).toBe(0);
      expect(existsSync(dataDir)).toBe(false);
      await expect(runOnServer(embedded.url, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
      expect(watched.stderr()).toMatch(
        /Jest \(process \d+\) ended without its global teardown: stopped the embedded PostgreSQL and removed /,
      );
      expect(watched.stderr()).not.toContain(new URL(embedded.url).password);
    } finally {
      if (existsSync(dataDir)) {
        await embedded.stop().catch(() => undefined);
        await rm(dataDir, { recursive: true, force: true });
      }
      guard.done();
    }
  }, 30_000);

  it("drops the run's databases on a DATABASE_URL server, and no other", async () => {
    const server = process.env.GATEHOUSE_TEST_SERVER_URL!;
    // Named after this run, so that its teardown drops what a failure here leaves.
    const runPrefix = process.env.GATEHOUSE_TEST_PREFIX!;
    const tag = randomBytes(3).toString('hex');
    const prefix = `${runPrefix}_wd${tag}`;
    const theRuns = [`${prefix}_template`, `${prefix}_0a1b2c3d`];
    const another = `${runPrefix}_wd${tag}x_other`;
    for (const name of [...theRuns, another]) {
      await runOnServer(server, `CREATE DATABASE "${name}"`);
    }
    // A connection left open (a plain DROP DATABASE refuses to drop under it), as the test
    // apps of a killed Jest may leave theirs for a moment.
    const open = new pg.Client({ connectionString: urlForDatabase(server, theRuns[1]) });
    open.on('error', () => undefined); // terminated by the drop
    try {
      await open.connect();
      const watched = await watch([{ serverUrl: server, prefix }]);
      watched.jest.kill('SIGKILL');
      expect(await within(15_000, 'watchdog exit', watched.exited)).toBe(0);

      const left = await runOnServer<{ datname: string }>(
        server,
        'SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY datname',
        [`${runPrefix}_wd${tag}`],
      );
      expect(left.map((row) => row.datname)).toEqual([another]);
      expect(watched.stderr()).toMatch(/dropped 2 database\(s\)/);
      const password = new URL(server).password;
      if (password) expect(watched.stderr()).not.toContain(password);
    } finally {
      await open.end().catch(() => undefined);
      for (const name of [...theRuns, another]) {
        await runOnServer(server, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      }
    }
  }, 30_000);

  it('touches nothing once the teardown said it is done', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-watchdog-'));
    try {
      await writeFile(join(dataDir, 'kept'), '');
      const watchdog = await RunWatchdog.start(process.cwd(), 'pipe');
      let stderr = '';
      watchdog.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => watchdog.child.on('exit', resolve));
      watchdog.watch({ dataDir });
      watchdog.done();
      expect(await within(10_000, 'watchdog exit', exited)).toBe(0);
      expect(existsSync(join(dataDir, 'kept'))).toBe(true);
      expect(stderr).toBe('');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 20_000);
});

describe("a run's database names (runPrefix)", () => {
  it('keep the process id however long the database name, so no run drops another run', () => {
    const url = 'postgres://postgres@127.0.0.1:5432/gatehouse_integration_tests_main_branch';
    const prefixes = [12345, 12999, 12].map((pid) => runPrefix(url, pid));
    expect(prefixes).toEqual([
      'gatehouse_integration_tests_main_gh12345',
      'gatehouse_integration_tests_main_gh12999',
      'gatehouse_integration_tests_main_br_gh12',
    ]);
    // Teardown and the watchdog drop the names that start with a prefix and "_".
    for (const prefix of prefixes) {
      const others = prefixes.filter((other) => other !== prefix);
      expect(others.filter((other) => `${other}_x`.startsWith(`${prefix}_`))).toEqual([]);
    }
  });
});
