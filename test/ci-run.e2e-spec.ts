import { ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOnServer } from './support/test-database';

/**
 * `.ci/run` stopped by a signal (README, Tests): it stops the step that is running, drops the
 * database it created, and still ends with its totals line, the interrupted test run counted as
 * failed. Run with stand-ins for `npm` (so that nothing is installed and no test runs again)
 * and `psql` (node-postgres; psql need not be installed), against the suite's own PostgreSQL
 * server (CI_PG_* and PGPASSWORD), the embedded one or DATABASE_URL's.
 */

const SERVER = process.env.GATEHOUSE_TEST_SERVER_URL!;

/** What `.ci/run` asks of psql: `-c <sql>`, rows printed as `psql -At` prints them. */
const PSQL_STUB = `#!/usr/bin/env node
const pg = require(${JSON.stringify(join(process.cwd(), 'node_modules/pg'))});
const args = process.argv.slice(2);
const value = (flag) => args[args.indexOf(flag) + 1];
const client = new pg.Client({
  host: value('-h'), port: Number(value('-p')), user: value('-U'), database: value('-d'),
  password: process.env.PGPASSWORD,
});
client.connect()
  .then(() => client.query({ text: value('-c'), rowMode: 'array' }))
  .then((result) => {
    for (const row of result.rows ?? []) console.log(row.join('|'));
    return client.end();
  })
  .catch((error) => {
    console.error('psql: ' + error.message);
    process.exit(1);
  });
`;

/**
 * The stand-in: `npm ci`, `npm run ...` succeed at once; the embedded test run (DATABASE_URL
 * unset) reports 5 passed tests; the step named by STUB_HANG (`ci` or `server`) writes its pid
 * and DATABASE_URL to STUB_MARKER and hangs, as a long step would.
 */
const NPM_STUB = `#!/usr/bin/env bash
hang() { printf '%s %s\\n' "$$" "\${DATABASE_URL:-}" > "$STUB_MARKER.tmp" && mv "$STUB_MARKER.tmp" "$STUB_MARKER"; exec sleep 60; }
case "$1" in
  --version) echo 0.0.0-stub ;;
  ci) if [[ "$STUB_HANG" == ci ]]; then hang; fi ;;
  run) ;;
  test)
    if [[ -n "\${DATABASE_URL:-}" ]]; then
      if [[ "$STUB_HANG" == server ]]; then hang; fi
      exit 0
    fi
    for arg in "$@"; do
      if [[ "$arg" == --outputFile=* ]]; then out="\${arg#--outputFile=}"; fi
    done
    echo '{"numPassedTests":5,"numFailedTests":0,"numRuntimeErrorTestSuites":0,"testResults":[]}' > "$out"
    ;;
esac
`;

interface Run {
  child: ChildProcess;
  stdout: () => string;
  exited: Promise<number | null>;
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function databaseExists(name: string): Promise<boolean> {
  const rows = await runOnServer(SERVER, 'SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return rows.length > 0;
}

describe('.ci/run stopped by a signal', () => {
  let dir: string;
  let marker: string;
  let run: Run | undefined;
  let stub: { pid: number; database?: string } | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-ci-run-test-'));
    marker = join(dir, 'marker');
    for (const [name, script] of [
      ['npm', NPM_STUB],
      ['psql', PSQL_STUB],
    ]) {
      await writeFile(join(dir, name), script);
      await chmod(join(dir, name), 0o755);
    }
  });

  afterEach(async () => {
    // Whatever the outcome, nothing of this test's run outlives it.
    if (run && run.child.exitCode === null && run.child.signalCode === null) {
      process.kill(-run.child.pid!, 'SIGKILL');
    }
    if (stub && isAlive(stub.pid)) process.kill(stub.pid, 'SIGKILL');
    if (stub?.database) {
      await runOnServer(SERVER, `DROP DATABASE IF EXISTS "${stub.database}" WITH (FORCE)`);
    }
    run = undefined;
    stub = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  function start(hang: 'ci' | 'server'): Run {
    const server = new URL(SERVER);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: `${dir}:${process.env.PATH}`,
      CI: 'true',
      STUB_HANG: hang,
      STUB_MARKER: marker,
      CI_PG_HOST: server.hostname,
      CI_PG_PORT: server.port || '5432',
      CI_PG_USER: decodeURIComponent(server.username),
      PGPASSWORD: decodeURIComponent(server.password),
    };
    delete env.DATABASE_URL;
    // A process group of its own, so that afterEach can stop all of it.
    const child = spawn('bash', [join(process.cwd(), '.ci/run')], {
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.resume();
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    return { child, stdout: () => stdout, exited };
  }

  /** Waits for the stand-in to hang in its step; returns its pid and DATABASE_URL's database. */
  async function hanging(): Promise<{ pid: number; database?: string }> {
    const line = await until(() => readFile(marker, 'utf8').catch(() => undefined), 20_000).catch(
      (error: Error) => {
        throw new Error(
          `${error.message}: the stand-in did not hang; .ci/run wrote:\n${run?.stdout()}`,
        );
      },
    );
    const [pid, url] = line.trim().split(' ');
    return { pid: Number(pid), database: url ? new URL(url).pathname.slice(1) : undefined };
  }

  /** The exit code once it has ended, given 15 s (it stops its step within 10 s). */
  async function exitCode(r: Run): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'still running'>((resolve) => {
      timer = setTimeout(() => resolve('still running'), 15_000);
    });
    const code = await Promise.race([r.exited, timeout]);
    clearTimeout(timer);
    if (code === 'still running') throw new Error(`.ci/run did not end:\n${r.stdout()}`);
    return code;
  }

  const lastLine = (r: Run) => r.stdout().trimEnd().split('\n').at(-1);

  it('SIGTERM during the test run on the server: totals with it failed, its database dropped', async () => {
    run = start('server');
    stub = await hanging();
    expect(stub.database).toMatch(/^gatehouse_ci_/);
    expect(await databaseExists(stub.database!)).toBe(true);

    run.child.kill('SIGTERM');

    expect(await exitCode(run)).toBe(143);
    expect(lastLine(run)).toBe('5 passed, 1 failed');
    expect(await databaseExists(stub.database!)).toBe(false);
    // It prints the test run's DATABASE_URL: the password stays in PGPASSWORD (the embedded
    // server has one; a trust-authentication server, none to leak).
    const password = decodeURIComponent(new URL(SERVER).password);
    expect(password === '' || !run.stdout().includes(password)).toBe(true);
    expect(isAlive(stub.pid)).toBe(false);
  }, 40_000);

  it('SIGINT during npm ci: both test runs count as failed', async () => {
    run = start('ci');
    stub = await hanging();

    run.child.kill('SIGINT');

    expect(await exitCode(run)).toBe(130);
    expect(lastLine(run)).toBe('0 passed, 2 failed');
    expect(isAlive(stub.pid)).toBe(false);
  }, 40_000);
});
