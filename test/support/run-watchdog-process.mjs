/**
 * The e2e test run's watchdog: cleans up after a Jest process that ended without running its
 * global teardown (Ctrl-C, a crash, SIGKILL). It stops the run's embedded PostgreSQL and
 * removes its temporary directory, and drops the run's databases on a DATABASE_URL server.
 *
 * global-setup.ts starts it (through run-watchdog.ts) in a session of its own, so the Ctrl-C
 * that stops Jest does not stop it, with its standard input a pipe from Jest. Jest writes one
 * JSON object per line, each merged into what the watchdog knows:
 *
 *   {"dataDir": "/tmp/gatehouse-test-…"}         the embedded PostgreSQL's temporary directory
 *   {"serverUrl": "postgres://…", "prefix": "…"}  the databases named <prefix>_… on that server
 *   {"done": true}                                the teardown did all that itself
 *
 * The end of its input comes when Jest closes the pipe or when the Jest process ends, however
 * it ends: the kernel closes a dead process's files. (Polling Jest's process id instead would
 * miss the end of a Jest that nobody reaps: a zombie still answers kill(pid, 0).) Then it
 * cleans up what it knows, unless told "done", and exits. It prints (on the standard error it
 * shares with Jest) one line per thing it cleaned up, never the server's URL.
 *
 * Plain JavaScript run by plain Node: it must not depend on Jest's transform.
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** The cleanup gives up after this long (ms): a server that never answers must not hold it for ever. */
const DEADLINE_MS = 90_000;

/** How long each signal to the postmaster gets to stop it before the next, stronger one (ms). */
const STOP_STEPS = [
  // Fast shutdown, what `pg_ctl stop -m fast` asks for. pg_ctl itself would have to be run as
  // the `postgres` OS user when we are root (it refuses root); a signal works for both.
  ['SIGINT', 15_000],
  ['SIGQUIT', 5_000], // immediate shutdown
  ['SIGKILL', 5_000],
];

const jestPid = process.ppid;
const state = {};
let input = '';

process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  input += chunk;
  let newline;
  while ((newline = input.indexOf('\n')) >= 0) {
    const line = input.slice(0, newline);
    input = input.slice(newline + 1);
    try {
      Object.assign(state, JSON.parse(line));
    } catch {
      report('ignored an input line it could not read');
    }
  }
});
// A pipe that breaks ends the input as well.
process.stdin.on('error', () => void finish());
process.stdin.on('end', () => void finish());

let finishing = false;
async function finish() {
  if (finishing) return;
  finishing = true;
  if (state.done) return;
  setTimeout(() => {
    reportCleanup(`gave up after ${DEADLINE_MS / 1000} s; clean up by hand`);
    process.exit(1);
  }, DEADLINE_MS).unref();
  let failed = false;
  if (state.serverUrl && state.prefix) {
    try {
      const dropped = await dropDatabases(state.serverUrl, state.prefix);
      if (dropped > 0) {
        reportCleanup(
          `dropped ${dropped} database(s) ${state.prefix}_* of the run on the DATABASE_URL server`,
        );
      }
    } catch (error) {
      failed = true;
      reportCleanup(`could not drop the databases ${state.prefix}_* of the run: ${message(error)}`);
    }
  }
  if (state.dataDir) {
    const dataDir = resolve(state.dataDir);
    try {
      const stopped = await stopPostgres(join(dataDir, 'postgres'));
      if (existsSync(dataDir)) {
        await rm(dataDir, { recursive: true, force: true });
        reportCleanup(`${stopped ? 'stopped the embedded PostgreSQL and ' : ''}removed ${dataDir}`);
      }
    } catch (error) {
      failed = true;
      reportCleanup(
        `could not stop the embedded PostgreSQL in ${dataDir} or remove it: ${message(error)}`,
      );
    }
  }
  process.exit(failed ? 1 : 0);
}

/** Drops the databases named `<prefix>_…`; returns how many. */
async function dropDatabases(serverUrl, prefix) {
  // Loaded only when needed: a normal run's watchdog has nothing to do.
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const { rows } = await client.query(
      'SELECT datname FROM pg_database WHERE starts_with(datname, $1)',
      [`${prefix}_`],
    );
    for (const { datname } of rows) {
      // WITH (FORCE): the connections of the test apps of a killed Jest may not have gone yet.
      await client.query(`DROP DATABASE IF EXISTS "${datname.replaceAll('"', '""')}" WITH (FORCE)`);
    }
    return rows.length;
  } finally {
    await client.end();
  }
}

/**
 * Stops the PostgreSQL whose data directory is `pgData`, if one runs there; returns whether
 * one did. Its process id is the first line of postmaster.pid, which PostgreSQL removes once
 * it has shut down.
 */
async function stopPostgres(pgData) {
  const pidFile = join(pgData, 'postmaster.pid');
  let pid;
  try {
    pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  } catch {
    return false; // no server was started, or it has stopped
  }
  if (!Number.isInteger(pid) || pid <= 0 || !(await isPostmasterOf(pid, pgData))) return false;
  for (const [signal, waitMs] of STOP_STEPS) {
    try {
      process.kill(pid, signal);
    } catch {
      return true; // gone meanwhile
    }
    const until = Date.now() + waitMs;
    while (Date.now() < until) {
      if (!existsSync(pidFile) || !isAlive(pid)) return true;
      await new Promise((resolveWait) => setTimeout(resolveWait, 50));
    }
  }
  throw new Error(`PostgreSQL (process ${pid}) did not stop`);
}

/**
 * Whether process `pid` is the postmaster of `pgData`: a postmaster.pid left by a server that
 * crashed may name a process id the system has given to another program since. Where there is
 * no /proc to ask, the file is believed, as pg_ctl believes it.
 */
async function isPostmasterOf(pid, pgData) {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').includes(pgData);
  } catch (error) {
    if (error.code === 'ENOENT') return !existsSync('/proc/self');
    return true; // /proc hides other users' processes: cannot tell
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

function message(error) {
  return error instanceof Error ? error.message : String(error);
}

function report(line) {
  process.stderr.write(`gatehouse e2e watchdog: ${line}\n`);
}

function reportCleanup(line) {
  report(`Jest (process ${jestPid}) ended without its global teardown: ${line}`);
}
