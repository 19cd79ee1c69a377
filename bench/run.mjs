#!/usr/bin/env node
// Gatehouse HTTP benchmark: `npm run bench` (= `node bench/run.mjs`).
//
// Builds the production app, starts it on a fresh embedded PostgreSQL (which seeds the demo data
// set), creates a read-only API user through the admin API and drives a list of scenarios with
// autocannon. Prints a Markdown table on stdout (progress goes to stderr, so `> table.md` works)
// and writes the numbers to bench/results/<ISO date>.json and bench/results/latest.json.
//
// Two reference servers are measured in the same run, on the same route (GET /odata/v1, the
// service document) with valid credentials, so the cost of Gatehouse's authentication can be
// read against what the alternatives cost (see the "ratios" under the table):
//   - bench/baselines/node-http-basic.mjs: bare node:http with a hand-written Basic check
//     against one in-memory key pair, the floor;
//   - bench/baselines/nest-passport-recipe.mjs: the stock NestJS-on-Fastify Passport recipe
//     (passport-http BasicStrategy, AuthGuard('basic')) with one in-memory user.
// They are started only for their own scenario and stopped right after it, so one server is
// under load at a time (Gatehouse and its PostgreSQL stay up, idle, meanwhile).
//
//   BENCH_DURATION=10      seconds measured per scenario
//   BENCH_CONNECTIONS=32   concurrent keep-alive connections
//   --scenario <text>      only the scenarios whose name contains <text> (repeatable); the
//                          baseline always runs too, since every ratio is relative to it
//   --skip-build           use the dist/ that is there (faster when iterating on the bench)
//
// Read the numbers with the machine in mind: the app, its PostgreSQL and autocannon all share
// the same cores (2 on the development machine and CI), so the load generator takes CPU away
// from the server. Absolute req/s are therefore pessimistic; compare runs on the same machine,
// and compare scenarios with each other through the "× health" ratio, which is measured in the
// same run under the same handicap. The baselines run under it too, so "hot key ÷ baseline"
// is comparable across machines only roughly; a baseline has no database to share cores with.
//
// To add a scenario, append an object to `scenarios`. To benchmark against another server (a
// bare Fastify, an older build...), add an entry to `targets` whose `start()` returns a handle
// from `startServer()`, and point scenarios at it with `target`; mark it `transient` to have it
// started just for its scenarios (after a quick start-probe-stop check before measuring).

import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS_DIR = join(ROOT, 'bench', 'results');

const ADMIN = {
  publicKey: 'bench-admin-public-key',
  secretKey: 'bench-admin-secret-key-0123456789',
};

const settings = {
  durationSeconds: positiveInt('BENCH_DURATION', 10),
  connections: positiveInt('BENCH_CONNECTIONS', 32),
  // Long enough for V8 to optimise the hot paths and for the connection pools to fill;
  // not recorded.
  warmupSeconds: 2,
};

// ---------------------------------------------------------------------------------------------
// Scenarios: what is measured. `request(ctx)` gets what the target's start() returned.
// ---------------------------------------------------------------------------------------------

const HOT_KEY = 'authenticated hot key';
const HEALTH = 'health (no auth)';
const NODE_HTTP_BASELINE = 'node:http + Basic (baseline)';
const NEST_RECIPE_BASELINE = 'NestJS + Passport recipe (baseline)';

/** The "ratios" section: hot key req/s divided by each of these scenarios' req/s. */
const HOT_KEY_RATIOS_TO = [NEST_RECIPE_BASELINE, NODE_HTTP_BASELINE, HEALTH];

const ODATA_LIST_QUERY =
  "$filter=OrderStatus eq 'Complete'&$orderby=OrderTotal desc&$top=50&$count=true";

/**
 * `verify(body)`, optional, checks the probe's body before measuring and returns an error
 * message when the answer would make the numbers meaningless (e.g. an empty list).
 * @type {Array<{name: string, target: string, expectedStatus: number, baseline?: boolean, request: (ctx: any) => {method?: string, path: string, headers?: Record<string, string>}, verify?: (body: string) => string | undefined}>}
 */
const scenarios = [
  {
    // Not a no-op: /health runs `SELECT 1`. It is the floor every guarded route stands on
    // (Fastify, Nest's pipeline, one database round trip) without authentication.
    name: HEALTH,
    target: 'gatehouse',
    expectedStatus: 200,
    baseline: true,
    request: () => ({ path: '/health' }),
  },
  {
    // The same key on every request: what a busy integration costs per call (settings read,
    // user lookup, HMAC verification, last-request batching) on the smallest guarded route.
    name: HOT_KEY,
    target: 'gatehouse',
    expectedStatus: 200,
    request: (ctx) => ({ path: '/odata/v1', headers: { authorization: basic(ctx.user) } }),
  },
  {
    // A known public key with a wrong secret of the same length as a real one, so the hash
    // comparison does the same work: the cost of a credential-stuffing flood.
    name: 'wrong secret',
    target: 'gatehouse',
    expectedStatus: 401,
    request: (ctx) => ({
      path: '/odata/v1',
      headers: {
        authorization: basic({ publicKey: ctx.user.publicKey, secretKey: 'f'.repeat(64) }),
      },
    }),
  },
  {
    // A realistic business query on the seeded 3000 orders: filter, sort, page, count.
    name: 'OData list',
    target: 'gatehouse',
    expectedStatus: 200,
    request: (ctx) => ({
      path: `/odata/v1/Orders?${ODATA_LIST_QUERY.replaceAll(' ', '%20')}`,
      headers: { authorization: basic(ctx.user) },
    }),
    verify: (body) => {
      const { value, '@odata.count': count } = JSON.parse(body);
      if (value?.length !== 50 || !(count > 50)) {
        return `expected a full page of 50 out of more, got ${value?.length} of ${count}`;
      }
    },
  },
  {
    // The floor: the same route and answer with no framework, no database, one in-memory key.
    name: NODE_HTTP_BASELINE,
    target: 'node-http-basic',
    expectedStatus: 200,
    request: (ctx) => ({ path: '/odata/v1', headers: { authorization: basic(ctx.user) } }),
    verify: verifyServiceDocument,
  },
  {
    // What "just use the Passport recipe" would cost, before any database or key logic.
    name: NEST_RECIPE_BASELINE,
    target: 'nest-passport-recipe',
    expectedStatus: 200,
    request: (ctx) => ({ path: '/odata/v1', headers: { authorization: basic(ctx.user) } }),
    verify: verifyServiceDocument,
  },
];

/** The baselines must answer what Gatehouse answers, or they would be cheaper for nothing. */
function verifyServiceDocument(body) {
  const names = JSON.parse(body).value?.map((set) => set.name);
  if (names?.join() !== 'Customers,Orders,Products') {
    return `expected the service document's three entity sets, got ${JSON.stringify(names)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Targets: servers the scenarios run against, started on first use and always stopped.
// ---------------------------------------------------------------------------------------------

const targets = {
  gatehouse: {
    async start({ signal, onCrash }) {
      const dataDir = await mkdtemp(join(os.tmpdir(), 'gatehouse-bench-'));
      // As root the embedded PostgreSQL runs as the `postgres` OS user, which must be able to
      // enter the directory (mkdtemp makes it 0700; the app chmods it too, this is explicit).
      await chmod(dataDir, 0o755);
      const port = await freePort();
      const server = await startServer({
        name: 'gatehouse',
        command: process.execPath,
        args: [join(ROOT, 'dist', 'src', 'main.js')],
        env: {
          ...envWithout(GATEHOUSE_ENV),
          NODE_ENV: 'development', // production would answer 421 without TLS
          HOST: '127.0.0.1',
          PORT: String(port),
          DATA_DIR: dataDir, // new: initdb, migrations, demo data, bootstrap admin
          ADMIN_PUBLIC_KEY: ADMIN.publicKey,
          ADMIN_SECRET_KEY: ADMIN.secretKey,
          NO_COLOR: '1', // its log is shown on failure: plain text, no escape codes
          // The wrong-secret scenario measures the secret check, not the 429 of a lock.
          AUTH_LOCKOUT_ATTEMPTS: '0',
          AUTH_IP_BAN_ATTEMPTS: '0',
        },
        baseUrl: `http://127.0.0.1:${port}`,
        // initdb and seeding the demo data take a while on 2 cores.
        readyTimeoutMs: 180_000,
        // Stopping flushes batched writes and stops PostgreSQL (pg_ctl waits up to 60 s).
        stopTimeoutMs: 90_000,
        cleanup: () => removeDataDir(dataDir),
        signal,
        onCrash,
      });
      try {
        const response = await fetch(`${server.baseUrl}/admin/api-users`, {
          method: 'POST',
          headers: { authorization: basic(ADMIN), 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'bench', roles: ['read'] }),
        });
        const body = await response.text();
        if (response.status !== 201) {
          throw new Error(`POST /admin/api-users answered ${response.status}: ${body}`);
        }
        const { publicKey, secretKey } = JSON.parse(body);
        return { server, baseUrl: server.baseUrl, user: { publicKey, secretKey } };
      } catch (error) {
        await server.stop();
        throw error;
      }
    },
  },
};

/** A server from bench/baselines/, given one in-memory key pair (fresh for every start). */
function baselineTarget(file) {
  return {
    transient: true,
    async start({ signal, onCrash }) {
      const user = {
        publicKey: randomBytes(16).toString('hex'),
        secretKey: randomBytes(32).toString('hex'),
      };
      const port = await freePort();
      const baseUrl = `http://127.0.0.1:${port}`;
      const server = await startServer({
        name: file,
        command: process.execPath,
        args: [join(ROOT, 'bench', 'baselines', file)],
        env: {
          ...envWithout(GATEHOUSE_ENV),
          NODE_ENV: 'production',
          PORT: String(port),
          BASELINE_PUBLIC_KEY: user.publicKey,
          BASELINE_SECRET_KEY: user.secretKey,
        },
        baseUrl,
        // They have no /health: ready when the guarded route lets the key through.
        readyPath: '/odata/v1',
        readyHeaders: { authorization: basic(user) },
        readyTimeoutMs: 30_000,
        stopTimeoutMs: 10_000,
        signal,
        onCrash,
      });
      return { server, baseUrl, user };
    },
  };
}

targets['node-http-basic'] = baselineTarget('node-http-basic.mjs');
targets['nest-passport-recipe'] = baselineTarget('nest-passport-recipe.mjs');

/** Gatehouse's configuration variables: none of the caller's may leak into the benchmark. */
const GATEHOUSE_ENV = [
  'PORT',
  'HOST',
  'NODE_ENV',
  'DATABASE_URL',
  'DATA_DIR',
  'AUTH_REALM',
  'TRUST_PROXY',
  'AUTH_RESPONSE_MODE',
  'KEEP_MASHERY_DEFAULT_RESPONSE_CODE',
  'AUTH_CONCEAL_REASONS',
  'ADMIN_PUBLIC_KEY',
  'ADMIN_SECRET_KEY',
  'TLS_CERT_FILE',
  'TLS_KEY_FILE',
  'LAST_REQUEST_FLUSH_MS',
  'ODATA_MAX_EXPANSION_DEPTH',
  'AUTH_LOCKOUT_ATTEMPTS',
  'AUTH_LOCKOUT_WINDOW_SECONDS',
  'AUTH_LOCKOUT_DURATION_SECONDS',
  'AUTH_IP_BAN_ATTEMPTS',
  'AUTH_IP_BAN_WINDOW_SECONDS',
  'AUTH_IP_BAN_DURATION_SECONDS',
  'RATE_LIMIT_REQUESTS',
  'RATE_LIMIT_WINDOW_SECONDS',
  'DAILY_QUOTA',
  'REDIS_URL',
  'AUDIT_RETENTION_DAYS',
];

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

async function main() {
  const { values: args } = parseArgs({
    options: {
      scenario: { type: 'string', multiple: true },
      'skip-build': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (args.help) {
    process.stdout.write(
      'usage: node bench/run.mjs [--scenario <name-substring>]... [--skip-build]\n' +
        `scenarios: ${scenarios.map((s) => s.name).join(', ')}\n`,
    );
    return 0;
  }
  const selected = selectScenarios(args.scenario);

  // Ctrl-C or SIGTERM: stop the current measurement and fall through to the cleanup below.
  // (A terminal's Ctrl-C also reaches the app, which starts stopping itself; our SIGTERM then
  // is a harmless second signal, which it ignores.)
  const abort = new AbortController();
  const onSignal = (signal) => {
    if (abort.signal.aborted) {
      log(`${signal} again: still cleaning up, please wait`);
      return;
    }
    log(`${signal} received: stopping and cleaning up`);
    abort.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const started = new Map(); // target name -> what its start() returned
  const startTarget = async (name) => {
    abort.signal.throwIfAborted();
    log(`starting ${name}`);
    const ctx = await targets[name].start({
      signal: abort.signal,
      // A server that dies mid-run would otherwise be "measured" as a flood of
      // connection errors until the scenario's time is up.
      onCrash: (error) => abort.abort(error),
    });
    started.set(name, ctx);
    return ctx;
  };
  const stopTarget = async (name) => {
    const ctx = started.get(name);
    started.delete(name);
    log(`stopping ${name}`);
    await ctx.server.stop().catch((error) => log(`could not stop ${name}: ${error}`));
  };
  const results = [];
  try {
    if (!args['skip-build']) await build(abort.signal);
    // Every target started and every scenario probed before anything is measured, so a broken
    // scenario fails in seconds rather than after minutes of measuring the others. Transient
    // targets (the baselines) are stopped again after their probe: they start in a second.
    const planned = [];
    for (const scenario of selected) {
      const ctx = started.get(scenario.target) ?? (await startTarget(scenario.target));
      planned.push(await prepareScenario(scenario, ctx, abort.signal));
      if (targets[scenario.target].transient) await stopTarget(scenario.target);
    }
    // One scenario at a time; a transient target runs only while its scenarios are measured.
    for (const [index, plan] of planned.entries()) {
      const { target } = plan.scenario;
      let current = plan;
      if (!started.has(target)) {
        // A new process on a new port (and, for a baseline, a new key): resolve and probe again.
        current = await prepareScenario(plan.scenario, await startTarget(target), abort.signal);
      }
      results.push(await measureScenario(current, abort.signal));
      const usedLater = planned.slice(index + 1).some((p) => p.scenario.target === target);
      if (targets[target].transient && !usedLater) await stopTarget(target);
    }
  } finally {
    for (const name of [...started.keys()]) await stopTarget(name);
  }

  const baseline = results.find((r) => r.baseline);
  for (const r of results) {
    r.ratioToBaseline = baseline ? round(r.reqPerSec / baseline.reqPerSec, 3) : null;
  }
  const hotKey = results.find((r) => r.name === HOT_KEY);
  const ratios = HOT_KEY_RATIOS_TO.map((name) => {
    const other = results.find((r) => r.name === name);
    const ratio = hotKey && other?.reqPerSec ? round(hotKey.reqPerSec / other.reqPerSec, 3) : null;
    return { numerator: HOT_KEY, denominator: name, ratio };
  });
  const report = {
    date: new Date().toISOString(),
    machine: machineInfo(),
    git: await gitInfo(),
    settings,
    baseline: baseline?.name ?? null,
    scenarios: results,
    // req/s of the hot key divided by req/s of each: below 1, Gatehouse is slower by that much.
    ratios,
  };

  process.stdout.write(markdown(report));
  await mkdir(RESULTS_DIR, { recursive: true });
  // Colons are not allowed in file names everywhere (Windows, some archive tools).
  const file = join(RESULTS_DIR, `${report.date.replaceAll(':', '-')}.json`);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  await writeFile(file, json);
  await writeFile(join(RESULTS_DIR, 'latest.json'), json);
  log(`results written to ${file} and bench/results/latest.json`);

  const failed = results.filter((r) => r.errors > 0);
  if (failed.length) log(`errors in: ${failed.map((r) => r.name).join(', ')}`);
  return 0;
}

function selectScenarios(filters) {
  if (!filters?.length) return scenarios;
  const matches = (s) => filters.some((f) => s.name.toLowerCase().includes(f.trim().toLowerCase()));
  if (!scenarios.some(matches)) {
    throw new Error(
      `no scenario matches ${filters.map((f) => `"${f}"`).join(', ')}; ` +
        `scenarios: ${scenarios.map((s) => s.name).join(', ')}`,
    );
  }
  // The baseline always runs: every ratio is relative to it, measured in the same run.
  return scenarios.filter((s) => s.baseline || matches(s));
}

// ---------------------------------------------------------------------------------------------
// Measuring one scenario
// ---------------------------------------------------------------------------------------------

/** Resolves the scenario's request and checks it once: the expected status, and verify(). */
async function prepareScenario(scenario, ctx, signal) {
  const { method = 'GET', path, headers = {} } = scenario.request(ctx);
  const url = `${ctx.baseUrl}${path}`;

  // Fail loudly before measuring: a benchmark of 404s or 401s says nothing.
  const response = await fetch(url, { method, headers, signal });
  const body = await response.text();
  if (response.status !== scenario.expectedStatus) {
    throw new Error(
      `${scenario.name}: ${method} ${path} answered ${response.status}, expected ` +
        `${scenario.expectedStatus}: ${body.slice(0, 500)}`,
    );
  }
  const problem = scenario.verify?.(body);
  if (problem) throw new Error(`${scenario.name}: ${method} ${path}: ${problem}`);
  log(`${scenario.name}: ${response.status} as expected (${Buffer.byteLength(body)} bytes)`);
  const probe = { status: response.status, bodyBytes: Buffer.byteLength(body) };
  return { scenario, method, path, headers, url, probe };
}

async function measureScenario({ scenario, method, path, headers, url, probe }, signal) {
  log(`${scenario.name}: warm-up ${settings.warmupSeconds} s`);
  await cannon({ url, method, headers, duration: settings.warmupSeconds }, signal);

  log(
    `${scenario.name}: measuring ${settings.durationSeconds} s at ${settings.connections} connections`,
  );
  const { result, latencies } = await cannon(
    { url, method, headers, duration: settings.durationSeconds },
    signal,
  );

  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]),
  );
  const responses = Object.values(statusCodes).reduce((a, b) => a + b, 0);
  const ok = statusCodes[scenario.expectedStatus] ?? 0;
  // autocannon's `errors` already includes its `timeouts`.
  const socketErrors = result.errors - result.timeouts;
  const unexpectedStatus = responses - ok;
  return {
    name: scenario.name,
    baseline: Boolean(scenario.baseline),
    method,
    path,
    expectedStatus: scenario.expectedStatus,
    probe,
    reqPerSec: result.requests.mean,
    responses,
    ok,
    unexpectedStatus,
    socketErrors,
    timeouts: result.timeouts,
    errors: unexpectedStatus + socketErrors + result.timeouts,
    statusCodes,
    latencyMs: {
      // autocannon's own histogram keeps whole milliseconds, too coarse on loopback; these
      // come from every response's high-resolution time instead.
      p50: round(percentile(latencies, 50), 3),
      p90: round(percentile(latencies, 90), 3),
      p99: round(percentile(latencies, 99), 3),
      max: round(latencies.at(-1), 3),
    },
    throughputBytesPerSec: result.throughput.mean,
    durationSeconds: result.duration,
  };
}

/** One autocannon run; resolves with its result and the sorted latencies in ms. */
function cannon({ url, method, headers, duration }, signal) {
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const latencies = [];
    const instance = autocannon(
      { url, method, headers, duration, connections: settings.connections },
      (error, result) => {
        signal.removeEventListener('abort', onAbort);
        if (error) return reject(error);
        if (signal.aborted) return reject(signal.reason);
        resolve({ result, latencies: Float64Array.from(latencies).sort() });
      },
    );
    // Every response, whatever its status: the wrong-secret scenario measures 401s.
    instance.on('response', (_client, _status, _bytes, responseTime) =>
      latencies.push(responseTime),
    );
    const onAbort = () => instance.stop();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

async function build(signal) {
  log('building (nest build)');
  // Output to our stderr: stdout is kept for the table.
  const child = spawn(join(ROOT, 'node_modules', '.bin', 'nest'), ['build'], {
    cwd: ROOT,
    stdio: ['ignore', 2, 2],
    signal,
  });
  const [code, sig] = await exited(child);
  signal.throwIfAborted();
  if (code !== 0) throw new Error(`nest build failed (${sig ?? `exit code ${code}`})`);
  if (!existsSync(join(ROOT, 'dist', 'src', 'main.js'))) {
    throw new Error('nest build produced no dist/src/main.js');
  }
}

/**
 * Starts a server process and waits until GET <baseUrl><readyPath> (with readyHeaders) answers
 * 200. The handle's
 * stop() sends SIGTERM, waits for the exit (SIGKILL after stopTimeoutMs), then runs cleanup();
 * it is safe to call more than once. If the start fails, the process is stopped and cleaned up
 * before the error is thrown. If the process exits on its own after a successful start,
 * onCrash(error) is called. Its output is kept (last lines) to explain failures.
 */
async function startServer({
  name,
  command,
  args = [],
  env = process.env,
  cwd = ROOT,
  baseUrl,
  readyPath = '/health',
  readyHeaders = {},
  readyTimeoutMs = 60_000,
  stopTimeoutMs = 30_000,
  cleanup = async () => {},
  signal,
  onCrash = () => {},
}) {
  const output = tail(60);
  // Its own stdout and stderr are piped (and drained) rather than inherited, so its logs do not
  // interleave with our table; they are printed if it fails.
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', output.push);
  child.stderr.on('data', output.push);
  const exit = exited(child);
  let ready = false;
  let stopping;
  void exit.then(([code, sig]) => {
    if (ready && !stopping) {
      onCrash(
        new Error(`${name} exited unexpectedly (${sig ?? `code ${code}`}):\n${output.text()}`),
      );
    }
  });

  const stop = () =>
    (stopping ??= (async () => {
      try {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => {
            log(`${name} did not stop within ${stopTimeoutMs / 1000} s: SIGKILL`);
            child.kill('SIGKILL');
          }, stopTimeoutMs);
          const [code, sig] = await exit;
          clearTimeout(timer);
          if (code !== 0) log(`${name} exited with ${sig ?? `code ${code}`}:\n${output.text()}`);
        }
      } finally {
        await cleanup();
      }
    })());

  try {
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      signal?.throwIfAborted();
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${name} exited during start:\n${output.text()}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`${name} not ready within ${readyTimeoutMs / 1000} s:\n${output.text()}`);
      }
      try {
        const response = await fetch(`${baseUrl}${readyPath}`, {
          headers: readyHeaders,
          signal: AbortSignal.timeout(2000),
        });
        await response.arrayBuffer();
        if (response.status === 200) break;
      } catch {
        // not listening yet
      }
      await sleep(250);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  ready = true;
  log(`${name} is ready on ${baseUrl}`);
  return { name, baseUrl, child, output, stop };
}

/**
 * Removes an embedded-PostgreSQL data directory. Normally the app has stopped its PostgreSQL;
 * if it died without doing so (it runs in its own session, so it outlives the app), stop it
 * here first, or it would keep running on deleted files.
 */
async function removeDataDir(dataDir) {
  const pidFile = join(dataDir, 'postgres', 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
    if (pid > 0 && alive(pid)) {
      log(`PostgreSQL (pid ${pid}) was left running: stopping it`);
      process.kill(pid, 'SIGINT'); // PostgreSQL's "fast" shutdown
      for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  }
  await rm(dataDir, { recursive: true, force: true });
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function exited(child) {
  return new Promise((resolve) => {
    child.once('error', () => resolve([null, 'spawn error']));
    child.once('exit', (code, sig) => resolve([code, sig]));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------------------------

function markdown(report) {
  const { machine, settings: s } = report;
  const fmt = (n, digits) => (n === null || n === undefined ? 'n/a' : n.toFixed(digits));
  const lines = [
    `Gatehouse benchmark, ${report.date}: ${machine.cpuModel}, ${machine.cores} cores ` +
      `(shared by app, PostgreSQL and load generator), Node ${machine.node}; ` +
      `${s.connections} connections, ${s.durationSeconds} s per scenario after ` +
      `${s.warmupSeconds} s warm-up.`,
    '',
    '| scenario | expected | req/s | p50 ms | p99 ms | errors | × health |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...report.scenarios.map(
      (r) =>
        `| ${r.name} | ${r.expectedStatus} | ${fmt(r.reqPerSec, 0)} | ${fmt(r.latencyMs.p50, 2)} ` +
        `| ${fmt(r.latencyMs.p99, 2)} | ${r.errors} | ${fmt(r.ratioToBaseline, 2)} |`,
    ),
    '',
    `Ratios (req/s of "${HOT_KEY}" divided by req/s of the other; n/a when not run):`,
    '',
    ...report.ratios.map((r) => `- ${r.numerator} ÷ ${r.denominator}: ${fmt(r.ratio, 2)}`),
    '',
  ];
  return `${lines.join('\n')}\n`;
}

function machineInfo() {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    totalMemoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    autocannon: require('autocannon/package.json').version,
  };
}

/** The commit measured, and whether the work tree had changes: numbers need a "what". */
async function gitInfo() {
  const git = async (...args) => {
    const child = spawn('git', args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    const [code] = await exited(child);
    return code === 0 ? out.trim() : null;
  };
  const commit = await git('rev-parse', 'HEAD');
  const status = await git('status', '--porcelain', '--untracked-files=no');
  return { commit, dirty: status === null ? null : status.length > 0 };
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

function basic({ publicKey, secretKey }) {
  return `Basic ${Buffer.from(`${publicKey}:${secretKey}`, 'utf8').toString('base64')}`;
}

function envWithout(names) {
  const env = { ...process.env };
  for (const name of names) delete env[name];
  return env;
}

function positiveInt(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    // Read at load time, before anything is started: nothing to clean up, so exit right here.
    log(`FAILED: ${name} must be a positive whole number, got "${raw}"`);
    process.exit(1);
  }
  return value;
}

/** Keeps the last `max` lines written to it. */
function tail(max) {
  const lines = [];
  let partial = '';
  return {
    push: (chunk) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop();
      lines.push(...parts);
      if (lines.length > max) lines.splice(0, lines.length - max);
    },
    text: () => [...lines, partial].filter(Boolean).join('\n'),
  };
}

/** Rounds for the JSON (microseconds are plenty); null stays null. */
function round(n, digits) {
  return n === null || n === undefined ? null : Number(n.toFixed(digits));
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function log(message) {
  process.stderr.write(`[bench] ${message}\n`);
}

main().then(
  (code) => process.exit(code),
  (error) => {
    log(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
    // 130 is the shell's code for "stopped by Ctrl-C".
    process.exit(String(error?.message).startsWith('interrupted by') ? 130 : 1);
  },
);
