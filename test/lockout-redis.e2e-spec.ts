import { spawnSync } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import request from 'supertest';
import {
  ANNOUNCEMENTS_CONNECTION_NAME,
  REDIS_ABUSE_PREFIX,
} from '../src/abuse/redis-attempt-store';
import { REDIS } from '../src/redis/redis.module';
import { adminAuth, basic, createApiUser, createTestApp, TestApp } from './support/test-app';
import { fail, get, listLocks } from './support/lockouts';
import { createTestDatabase, TestDatabase } from './support/test-database';
import { eventually } from './support/eventually';

/**
 * Locks and bans shared through Redis (`REDIS_URL`): several instances on one database and
 * one Redis see the same counters, locks, bans and lifts. Runs against the Redis at
 * GATEHOUSE_TEST_REDIS_URL (default redis://127.0.0.1:6379/7, which CI machines have) and is
 * skipped, saying so, when none answers there. It writes only `gatehouse:abuse:*` keys about
 * addresses drawn at random for this run, lifts what it locked, and lets the rest expire.
 */
const REDIS_URL = process.env.GATEHOUSE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/7';

/** Whether a Redis answers PING at REDIS_URL, asked synchronously so `describe` can be chosen. */
function redisAnswers(url: string): boolean {
  const { hostname, port } = new URL(url);
  const probe = `
    const socket = require('node:net').connect(${Number(port) || 6379}, ${JSON.stringify(hostname)});
    socket.setTimeout(1000, () => process.exit(1));
    socket.on('error', () => process.exit(1));
    socket.on('connect', () => socket.write('PING\\r\\n'));
    socket.on('data', (data) => process.exit(/^(\\+PONG|-NOAUTH)/.test(String(data)) ? 0 : 1));`;
  return spawnSync(process.execPath, ['-e', probe], { timeout: 3000 }).status === 0;
}

const available = redisAnswers(REDIS_URL);
if (!available) {
  console.warn(
    `Skipping test/lockout-redis.e2e-spec.ts: no Redis answers at ${REDIS_URL} ` +
      '(set GATEHOUSE_TEST_REDIS_URL to test the shared lockout store elsewhere).',
  );
}

/** This run's client addresses: 10.<run>.<run>.<n>, so earlier runs' leftovers do not matter. */
const RUN = `10.${randomInt(256)}.${randomInt(256)}`;
let nextHost = 1;
const newAddress = () => `${RUN}.${nextHost++}`;

const ENV = {
  REDIS_URL,
  TRUST_PROXY: '127.0.0.1,::1',
  AUTH_LOCKOUT_ATTEMPTS: '3',
  AUTH_LOCKOUT_DURATION_SECONDS: '60',
  AUTH_IP_BAN_ATTEMPTS: '4',
  AUTH_IP_BAN_DURATION_SECONDS: '60',
};

function expectReason(response: request.Response, status: number, id: number) {
  expect({ status: response.status, id: response.headers['smartstore-api-authresultid'] }).toEqual({
    status,
    id: String(id),
  });
  if (status === 429) expect(response.headers['retry-after']).toMatch(/^[1-9]\d*$/);
}

(available ? describe : describe.skip)('locks and bans shared through Redis', () => {
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  // Instances some tests add: closed only in afterAll, because closing one app in this process
  // while others on the same database go on breaks their connections ("Driver not Connected").
  const more: TestApp[] = [];
  const start = async (env: Record<string, string>) => {
    const t = await createTestApp(env, db);
    more.push(t);
    return t;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    a = await createTestApp(ENV, db);
    b = await createTestApp(ENV, db);
  });

  afterAll(async () => {
    try {
      // Lift what this run locked (the rest of its keys expire with their windows).
      for (const lock of a ? await listLocks(a) : []) {
        if (lock.address.startsWith(`${RUN}.`)) {
          await a.http.delete(`/admin/lockouts/${lock.id}`).set('Authorization', adminAuth());
        }
      }
    } finally {
      for (const t of [...more, b, a]) await t?.close();
      await db?.drop();
    }
  });

  it('a lock made through one instance holds on the other', async () => {
    const user = await createApiUser(a);
    const address = newAddress();
    await fail(a, user.publicKey, address, 3);
    expectReason(await get(b, basic(user.publicKey, user.secretKey), address), 429, 6);
    expectReason(await get(a, basic(user.publicKey, user.secretKey), address), 429, 6);
    const retryAfter = Number(
      (await get(b, basic(user.publicKey, user.secretKey), address)).headers['retry-after'],
    );
    expect(retryAfter).toBeGreaterThan(50);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Elsewhere the key still works, on both.
    await get(b, basic(user.publicKey, user.secretKey), newAddress()).expect(200);
  });

  it('counts failures on every instance together towards one lock', async () => {
    const address = newAddress();
    const user = await createApiUser(a);
    await fail(a, user.publicKey, address, 1);
    await fail(b, user.publicKey, address, 1);
    await get(a, basic(user.publicKey, user.secretKey), address).expect(200);
    await fail(a, user.publicKey, address, 1);
    expectReason(await get(b, basic(user.publicKey, user.secretKey), address), 429, 6);
  });

  it('bans an address whose failures are spread over both instances', async () => {
    const address = newAddress();
    await fail(a, 'unknown-key-one-000', address, 1);
    await fail(b, 'unknown-key-two-000', address, 1);
    await fail(a, 'unknown-key-three-0', address, 1);
    await fail(b, 'unknown-key-four-00', address, 1);
    const user = await createApiUser(a);
    expectReason(await get(a, basic(user.publicKey, user.secretKey), address), 429, 7);
    expectReason(await get(b, basic(user.publicKey, user.secretKey), address), 429, 7);
  });

  it('lists a lock on every instance, and a lift through one holds on all', async () => {
    const user = await createApiUser(a);
    const address = newAddress();
    await fail(a, user.publicKey, address, 3);

    const seenByB = (await listLocks(b)).find((l) => l.address === address);
    expect(seenByB).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      kind: 'key',
      publicKey: user.publicKey,
      address,
      lockedUntil: expect.any(String),
      retryAfterSeconds: expect.any(Number),
    });
    expect((await listLocks(a)).find((l) => l.address === address)).toEqual(
      expect.objectContaining({ id: seenByB!.id }),
    );

    await b.http
      .delete(`/admin/lockouts/${seenByB!.id}`)
      .set('Authorization', adminAuth())
      .expect(204);
    await get(a, basic(user.publicKey, user.secretKey), address).expect(200);
    await get(b, basic(user.publicKey, user.secretKey), address).expect(200);
    await a.http
      .delete(`/admin/lockouts/${seenByB!.id}`)
      .set('Authorization', adminAuth())
      .expect(404);
  });

  it('a lock ends on its own on every instance (the instance that made it set its duration)', async () => {
    const short = await start({ ...ENV, AUTH_LOCKOUT_DURATION_SECONDS: '1' });
    const user = await createApiUser(short);
    const address = newAddress();
    await fail(short, user.publicKey, address, 3);
    const locked = await get(a, basic(user.publicKey, user.secretKey), address);
    expectReason(locked, 429, 6);
    expect(locked.headers['retry-after']).toBe('1');
    await eventually(async () => {
      await get(a, basic(user.publicKey, user.secretKey), address).expect(200);
    });
    await get(b, basic(user.publicKey, user.secretKey), address).expect(200);
  });

  it('asks Redis nothing per request while no lock may last, and again once one is set anywhere', async () => {
    // A database of its own: locks the other tests (or earlier runs) made would keep these
    // instances looking up for as long as they last.
    const url = new URL(REDIS_URL);
    url.pathname = '/8';
    const probe = new Redis(url.href);
    const monitor = await probe.monitor(); // a connection of its own
    const seen: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[], _source: string, database: string) => {
      if (database === '8') seen.push(args);
    });
    /** The commands Redis ran for the instances during `action`, every one of them. */
    const commandsDuring = async (action: () => Promise<void>): Promise<string[]> => {
      // MONITOR reports commands in the order Redis ran them: once it reports an ECHO sent
      // after the action, it has reported everything the action caused.
      const ranUpTo = async () => {
        const marker = randomUUID();
        await probe.echo(marker);
        await eventually(() => expect(seen).toContainEqual(['echo', marker]));
      };
      await ranUpTo();
      seen.length = 0;
      await action();
      await ranUpTo();
      return seen.map(([command]) => command.toLowerCase()).filter((c) => c !== 'echo');
    };
    try {
      await probe.del(`${REDIS_ABUSE_PREFIX}any-lock`);
      const env = { ...ENV, REDIS_URL: url.href, AUTH_LOCKOUT_DURATION_SECONDS: '2' };
      const x = await start(env);
      const y = await start(env);
      const user = await createApiUser(x);
      const address = newAddress();
      const succeedOnBoth = async () => {
        for (const t of [x, y, x, y]) {
          await get(t, basic(user.publicKey, user.secretKey), address).expect(200);
        }
      };
      expect(await commandsDuring(succeedOnBoth)).toEqual([]);

      // A lock set through x: y looks it up at its next request, and answers 429.
      await fail(x, user.publicKey, address, 3);
      const lookups = await commandsDuring(async () => {
        expectReason(await get(y, basic(user.publicKey, user.secretKey), address), 429, 6);
        expectReason(await get(x, basic(user.publicKey, user.secretKey), address), 429, 6);
      });
      expect(lookups).toEqual(['pttl', 'pttl', 'pttl', 'pttl']); // the key and the address, twice

      // Once it has ended (2 s), no more lookups.
      await eventually(async () => {
        await get(y, basic(user.publicKey, user.secretKey), address).expect(200);
        await get(x, basic(user.publicKey, user.secretKey), address).expect(200);
        expect(await commandsDuring(succeedOnBoth)).toEqual([]);
      });
    } finally {
      monitor.disconnect();
      probe.disconnect();
    }
  });

  it('an instance whose listening connection dropped looks locks up again, and learns of those set meanwhile', async () => {
    // Database 9 of its own, so that only these two instances listen there.
    const url = new URL(REDIS_URL);
    url.pathname = '/9';
    const probe = new Redis(url.href);
    const listeners = async () =>
      String(await probe.call('CLIENT', 'LIST', 'TYPE', 'pubsub'))
        .split('\n')
        .filter((line) => line.includes(` name=${ANNOUNCEMENTS_CONNECTION_NAME} `))
        .filter((line) => / db=9 /.test(line))
        .map((line) => /\bid=(\d+)/.exec(line)![1]);
    try {
      await probe.del(`${REDIS_ABUSE_PREFIX}any-lock`);
      const env = { ...ENV, REDIS_URL: url.href };
      const x = await start(env);
      const y = await start(env);
      const user = await createApiUser(x);
      const address = newAddress();
      const before = await listeners();
      expect(before).toHaveLength(2);
      // Both listening connections drop; x sets a lock before they are back, so its
      // announcement reaches no one.
      for (const id of before) await probe.call('CLIENT', 'KILL', 'ID', id);
      await fail(x, user.publicKey, address, 3);
      await eventually(async () => {
        const now = await listeners();
        expect(now).toHaveLength(2);
        expect(now.filter((id) => before.includes(id))).toEqual([]);
      });
      // Back, y has read how long a lock may last: it looks the lock up.
      expectReason(await get(y, basic(user.publicKey, user.secretKey), address), 429, 6);
      expectReason(await get(x, basic(user.publicKey, user.secretKey), address), 429, 6);
    } finally {
      probe.disconnect();
    }
  });

  it('when Redis fails, an instance counts in its own memory: no 5xx for requests, 503 for the list', async () => {
    const cut = await start(ENV);
    const user = await createApiUser(cut);
    cut.app.get<symbol, Redis>(REDIS, { strict: false }).disconnect();
    const address = newAddress();
    // Failures are still answered as what they are, and still counted (in memory).
    await fail(cut, user.publicKey, address, 3);
    expectReason(await get(cut, basic(user.publicKey, user.secretKey), address), 429, 6);
    // Other requests go through.
    await get(cut, basic(user.publicKey, user.secretKey), newAddress()).expect(200);
    // The admin list would be partial: 503 rather than a wrong answer.
    const list = await cut.http
      .get('/admin/lockouts')
      .set('Authorization', adminAuth())
      .expect(503);
    expect(list.body.error.code).toBe('LockStoreUnavailable');
    // That lock lives in this instance's memory only.
    await get(a, basic(user.publicKey, user.secretKey), address).expect(200);
  });
});
