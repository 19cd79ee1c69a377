import { spawn } from 'node:child_process';
import { createServer, Server, Socket } from 'node:net';
import { ADMIN, basic, createApiUser, createTestApp, TestApp } from './support/test-app';
import { fail, get } from './support/lockouts';
import { createTestDatabase, TestDatabase } from './support/test-database';

/**
 * REDIS_URL names a Redis that does not answer at start: Gatehouse starts anyway, serves
 * requests at once, and counts failed attempts in its own memory (README, "Invalid attempts").
 */

/** A port nothing listens on: bound, then closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Starts and closes the app in a process of its own (test/support/start-and-close-app.ts) and
 * returns how long that process lived on after the app had closed (ms).
 */
async function lingerAfterClose(env: Record<string, string>): Promise<number> {
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register', 'test/support/start-and-close-app.ts'],
    {
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  let closedAt: number | undefined;
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (closedAt === undefined && output.includes('closed\n')) closedAt = Date.now();
  });
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const exitedAt = Date.now();
  if (code !== 0 || closedAt === undefined) {
    throw new Error(`the app did not start and close (exit code ${code}):\n${output}`);
  }
  return exitedAt - closedAt;
}

describe('REDIS_URL unreachable at start', () => {
  let t: TestApp;
  let redisUrl: string;
  beforeAll(async () => {
    redisUrl = `redis://127.0.0.1:${await closedPort()}/5`;
    t = await createTestApp({
      REDIS_URL: redisUrl,
      TRUST_PROXY: '127.0.0.1,::1',
      AUTH_LOCKOUT_ATTEMPTS: '3',
      AUTH_LOCKOUT_DURATION_SECONDS: '60',
      AUTH_IP_BAN_ATTEMPTS: '100',
    });
  });
  afterAll(() => t?.close());

  it('starts and serves an authenticated request', async () => {
    const user = await createApiUser(t);
    const response = await get(t, basic(user.publicKey, user.secretKey), '10.9.0.1');
    expect(response.status).toBe(200);
  });

  it('counts wrong secrets in memory and locks the key', async () => {
    const user = await createApiUser(t);
    await fail(t, user.publicKey, '10.9.0.2', 3);
    const response = await get(t, basic(user.publicKey, user.secretKey), '10.9.0.2');
    expect(response.status).toBe(429);
    expect(response.headers['smartstore-api-authresultid']).toBe('6');
  });

  // ioredis, asked to disconnect while it waits to reconnect, armed a 2 s timer on the socket
  // that had already closed: every process that closed the app (a test runner, an embedding
  // host) lived on for 2 s more.
  it('lets the process end promptly once the app is closed', async () => {
    const lingered = await lingerAfterClose({
      NODE_ENV: 'test',
      DATABASE_URL: t.db.url,
      REDIS_URL: redisUrl,
      ADMIN_PUBLIC_KEY: ADMIN.publicKey,
      ADMIN_SECRET_KEY: ADMIN.secretKey,
    });
    expect(lingered).toBeLessThan(1000);
  }, 60_000);
});

/**
 * A "Redis" that accepts connections and never says a word: what an address that drops packets
 * looks like once connected, and deterministic (a blackholed address may as well be refused
 * by the test machine's network). Every wait on it ends only by a timeout.
 */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A request that waited for Redis would have waited for its 1 s command timeout. */
const PROMPT_MS = 800;

async function timed<T>(action: () => PromiseLike<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await action();
  return { result, ms: performance.now() - started };
}

describe('REDIS_URL accepting connections but never answering', () => {
  let silent: Awaited<ReturnType<typeof silentServer>>;
  let db: TestDatabase;
  let t: TestApp;
  let startMs: number;
  beforeAll(async () => {
    silent = await silentServer();
    db = await createTestDatabase();
    ({ result: t, ms: startMs } = await timed(() =>
      createTestApp(
        {
          REDIS_URL: `redis://127.0.0.1:${silent.port}/5`,
          TRUST_PROXY: '127.0.0.1,::1',
          AUTH_LOCKOUT_ATTEMPTS: '3',
          AUTH_LOCKOUT_DURATION_SECONDS: '60',
          AUTH_IP_BAN_ATTEMPTS: '100',
        },
        db,
      ),
    ));
  }, 30_000);
  afterAll(async () => {
    await t?.close();
    await db?.drop();
    await silent?.close();
  });

  it('starts after waiting for Redis at most 1 s, not for every connection to time out', () => {
    // 1 s for Redis, the rest Nest's own start on a busy machine; ioredis alone would take 4 s
    // (handshake timeouts) to give up on a silent server and 10 s on a blackholed address.
    expect(startMs).toBeLessThan(3000);
  });

  it('answers an authenticated request promptly, rate-limited in memory', async () => {
    const user = await createApiUser(t, { rateLimit: { requests: 2, windowSeconds: 60 } });
    const auth = basic(user.publicKey, user.secretKey);
    for (const expected of [200, 200, 429]) {
      const { result: response, ms } = await timed(() => get(t, auth, '10.9.1.1'));
      expect(response.status).toBe(expected);
      expect(ms).toBeLessThan(PROMPT_MS);
    }
  });

  it('answers wrong secrets promptly, counting them in memory until the key is locked', async () => {
    const user = await createApiUser(t);
    for (let i = 0; i < 3; i++) {
      const { result: response, ms } = await timed(() =>
        get(t, basic(user.publicKey, `wrong-secret-${i}-0123456789`), '10.9.1.2'),
      );
      expect(response.status).toBe(401);
      expect(ms).toBeLessThan(PROMPT_MS);
    }
    const { result: response, ms } = await timed(() =>
      get(t, basic(user.publicKey, user.secretKey), '10.9.1.2'),
    );
    expect(response.status).toBe(429);
    expect(response.headers['smartstore-api-authresultid']).toBe('6');
    expect(ms).toBeLessThan(PROMPT_MS);
  });
});
