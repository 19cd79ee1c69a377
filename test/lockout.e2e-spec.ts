import pg from 'pg';
import request from 'supertest';
import {
  adminAuth,
  basic,
  createApiUser,
  createTestApp,
  disableApiUser,
  TestApp,
  withApp,
} from './support/test-app';
import { fail, get, listLocks } from './support/lockouts';
import { createTestDatabase, TestDatabase } from './support/test-database';
import { eventually } from './support/eventually';

/**
 * Invalid attempts, locks (reason 6) and bans (reason 7) with the in-memory store. Client
 * addresses are simulated with X-Forwarded-For, which TRUST_PROXY lets the loopback proxy set.
 */

const CHALLENGE = 'Basic realm="Smartstore.WebApi", charset="UTF-8"';
const TRUST_LOOPBACK = { TRUST_PROXY: '127.0.0.1,::1' };

/** One database for the file; each app below is a differently configured instance on it. */
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

function expectReason(response: request.Response, status: number, id: number, desc: string) {
  expect({ status: response.status, id: response.headers['smartstore-api-authresultid'] }).toEqual({
    status,
    id: String(id),
  });
  expect(response.headers['smartstore-api-authresultdesc']).toBe(desc);
  expect(response.body).toEqual({ error: { code: desc, message: expect.any(String) } });
}

function expectLocked(response: request.Response, maxSeconds: number) {
  expectReason(response, 429, 6, 'UserLocked');
  expectRetryAfter(response, maxSeconds);
}

function expectBanned(response: request.Response, maxSeconds: number) {
  expectReason(response, 429, 7, 'ClientBlocked');
  expectRetryAfter(response, maxSeconds);
}

function expectRetryAfter(response: request.Response, maxSeconds: number) {
  const retryAfter = Number(response.headers['retry-after']);
  expect(response.headers['retry-after']).toMatch(/^\d+$/);
  expect(retryAfter).toBeGreaterThanOrEqual(Math.max(1, maxSeconds - 5));
  expect(retryAfter).toBeLessThanOrEqual(maxSeconds);
  expect(response.headers['www-authenticate']).toBeUndefined();
}

describe('locks and bans (AUTH_LOCKOUT_ATTEMPTS=3, AUTH_IP_BAN_ATTEMPTS=6)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(
      {
        ...TRUST_LOOPBACK,
        AUTH_LOCKOUT_ATTEMPTS: '3',
        AUTH_LOCKOUT_WINDOW_SECONDS: '60',
        AUTH_LOCKOUT_DURATION_SECONDS: '120',
        AUTH_IP_BAN_ATTEMPTS: '6',
        AUTH_IP_BAN_WINDOW_SECONDS: '60',
        AUTH_IP_BAN_DURATION_SECONDS: '300',
      },
      db,
    );
  });
  afterAll(() => t.close());

  it('locks a key at an address after 3 wrong secrets: 429 UserLocked (6) with Retry-After', async () => {
    const user = await createApiUser(t);
    const address = '198.51.100.1';
    for (let i = 0; i < 3; i++) {
      // The failure that reaches the limit still answers with its own reason.
      const response = await get(t, basic(user.publicKey, `wrong-secret-${i}-000000`), address);
      expectReason(response, 401, 3, 'InvalidCredentials');
      expect(response.headers['www-authenticate']).toBe(CHALLENGE);
    }
    expectLocked(await get(t, basic(user.publicKey, 'wrong-secret-x-000000'), address), 120);
    // The correct secret is refused too while the lock lasts.
    expectLocked(await get(t, basic(user.publicKey, user.secretKey), address), 120);
    // The lock is for this key at this address: the key works from elsewhere ...
    await get(t, basic(user.publicKey, user.secretKey), '198.51.100.2').expect(200);
    // ... and other keys from this address.
    const other = await createApiUser(t);
    await get(t, basic(other.publicKey, other.secretKey), address).expect(200);
  });

  it('counts a client whose proxy writes its port into X-Forwarded-For once, whatever the port', async () => {
    const user = await createApiUser(t);
    for (let i = 0; i < 3; i++) {
      await fail(t, user.publicKey, `198.51.100.77:4000${i}`);
    }
    expectLocked(await get(t, basic(user.publicKey, user.secretKey), '198.51.100.77:50000'), 120);
    expectLocked(await get(t, basic(user.publicKey, user.secretKey), '198.51.100.77'), 120);
    const locks = await listLocks(t);
    expect(locks.filter((lock) => lock.publicKey === user.publicKey)).toEqual([
      expect.objectContaining({ kind: 'key', address: '198.51.100.77' }),
    ]);
  });

  it('counts unknown keys (4) and disabled users (5) towards a lock as well', async () => {
    for (let i = 0; i < 3; i++) {
      expectReason(
        await get(t, basic('no-such-public-key', 'some-secret-000000'), '198.51.100.3'),
        401,
        4,
        'UserUnknown',
      );
    }
    expectLocked(await get(t, basic('no-such-public-key', 'x-secret-0000'), '198.51.100.3'), 120);

    const disabled = await createApiUser(t);
    await disableApiUser(t, disabled.id);
    for (let i = 0; i < 3; i++) {
      const response = await get(t, basic(disabled.publicKey, disabled.secretKey), '198.51.100.4');
      expectReason(response, 401, 5, 'UserDisabled');
    }
    expectLocked(await get(t, basic(disabled.publicKey, disabled.secretKey), '198.51.100.4'), 120);
  });

  it('does not count malformed headers (2), nor successes', async () => {
    const user = await createApiUser(t);
    for (let i = 0; i < 10; i++) {
      await get(t, 'Basic !!!', '198.51.100.5').expect(401);
      await get(t, undefined, '198.51.100.5').expect(401);
      await get(t, basic(user.publicKey, user.secretKey), '198.51.100.5').expect(200);
    }
    const response = await get(t, basic('unknown-key-5', 'some-secret-000000'), '198.51.100.5');
    expectReason(response, 401, 4, 'UserUnknown');
  });

  it('bans an address that fails with many keys: 429 ClientBlocked (7) for every request from it', async () => {
    const banned = '198.51.100.6';
    for (let i = 0; i < 6; i++) {
      const response = await get(t, basic(`unknown-key-${i}`, 'some-secret-000000'), banned);
      expectReason(response, 401, 4, 'UserUnknown');
    }
    const user = await createApiUser(t);
    // Before the header is read (7 comes before 2) and for valid credentials, admin ones too.
    expectBanned(await get(t, undefined, banned), 300);
    expectBanned(await get(t, 'Basic !!!', banned), 300);
    expectBanned(await get(t, basic(user.publicKey, user.secretKey), banned), 300);
    expectBanned(
      await t.http
        .get('/admin/lockouts')
        .set('Authorization', adminAuth())
        .set('X-Forwarded-For', banned),
      300,
    );
    // A second address still works while the first is banned.
    await get(t, basic(user.publicKey, user.secretKey), '198.51.100.7').expect(200);
    await get(t, basic(user.publicKey, user.secretKey)).expect(200);
  });

  it('bans through failures split over keys that each stay below their lock', async () => {
    const address = '198.51.100.8';
    await fail(t, 'key-one-0000', address, 2);
    await fail(t, 'key-two-0000', address, 2);
    await fail(t, 'key-three-00', address, 2);
    expectBanned(await get(t, basic('key-one-0000', 'whatever-000000'), address), 300);
  });

  it('counts an IPv6 client per /64: moving through its network escapes neither lock nor ban', async () => {
    const user = await createApiUser(t);
    const network = '2001:db8:6:1::/64';
    await fail(t, user.publicKey, '2001:db8:6:1::1', 1);
    await fail(t, user.publicKey, '2001:DB8:6:1:0:0:0:2', 1);
    await fail(t, user.publicKey, '2001:db8:6:1:abcd:ef01:2345:6789', 1);
    expectLocked(await get(t, basic(user.publicKey, user.secretKey), '2001:db8:6:1::99'), 120);
    await get(t, basic(user.publicKey, user.secretKey), '2001:db8:6:2::1').expect(200);

    for (let i = 0; i < 3; i++) await fail(t, `spray-v6-${i}-000000`, `2001:db8:6:1::${i + 10}`, 1);
    expectBanned(await get(t, basic(user.publicKey, user.secretKey), '2001:db8:6:1::ffff'), 300);
    await get(t, basic(user.publicKey, user.secretKey), '2001:db8:6:2::1').expect(200);

    const locks = (await listLocks(t)).filter((l) => l.address === network);
    expect(locks.map((l) => [l.kind, l.publicKey]).sort()).toEqual([
      ['address', undefined],
      ['key', user.publicKey],
    ]);
  });

  it('lists current locks and bans, and lifts them through the admin API', async () => {
    const user = await createApiUser(t);
    const lockedAt = '198.51.100.9';
    const banned = '198.51.100.10';
    await fail(t, user.publicKey, lockedAt, 3);
    for (let i = 0; i < 6; i++) await fail(t, `spray-${i}-000000`, banned, 1);

    const locks = await listLocks(t);
    const lock = locks.find((l) => l.kind === 'key' && l.address === lockedAt);
    const ban = locks.find((l) => l.kind === 'address' && l.address === banned);
    expect(lock).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      kind: 'key',
      publicKey: user.publicKey,
      address: lockedAt,
      lockedUntil: expect.any(String),
      retryAfterSeconds: expect.any(Number),
    });
    expect(ban).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      kind: 'address',
      address: banned,
      lockedUntil: expect.any(String),
      retryAfterSeconds: expect.any(Number),
    });
    expect(lock!.retryAfterSeconds).toBeGreaterThan(100);
    expect(lock!.retryAfterSeconds).toBeLessThanOrEqual(120);
    expect(ban!.retryAfterSeconds).toBeGreaterThan(280);
    const untilMs = Date.parse(lock!.lockedUntil) - Date.now();
    expect(untilMs).toBeGreaterThan(100_000);
    expect(untilMs).toBeLessThanOrEqual(120_000);
    // Never a secret in the list.
    expect(JSON.stringify(locks)).not.toContain(user.secretKey);

    expectLocked(await get(t, basic(user.publicKey, user.secretKey), lockedAt), 120);
    await t.http
      .delete(`/admin/lockouts/${lock!.id}`)
      .set('Authorization', adminAuth())
      .expect(204);
    await get(t, basic(user.publicKey, user.secretKey), lockedAt).expect(200);

    expectBanned(await get(t, basic(user.publicKey, user.secretKey), banned), 300);
    await t.http.delete(`/admin/lockouts/${ban!.id}`).set('Authorization', adminAuth()).expect(204);
    await get(t, basic(user.publicKey, user.secretKey), banned).expect(200);

    const ids = (await listLocks(t)).map((l) => l.id);
    expect(ids).not.toContain(lock!.id);
    expect(ids).not.toContain(ban!.id);
    // A lifted lock starts counting afresh: two more failures do not lock again.
    await fail(t, user.publicKey, lockedAt, 2);
    await get(t, basic(user.publicKey, user.secretKey), lockedAt).expect(200);
  });

  it('answers 404 for an unknown, lifted or malformed lock id', async () => {
    for (const id of ['0'.repeat(32), 'not-an-id', 'ABCDEF0123456789ABCDEF0123456789']) {
      const response = await t.http
        .delete(`/admin/lockouts/${id}`)
        .set('Authorization', adminAuth())
        .expect(404);
      expect(response.body).toEqual({ error: { code: 'NotFound', message: expect.any(String) } });
    }
  });

  it('refuses a body on DELETE with 400 naming the field, before looking the id up', async () => {
    const response = await t.http
      .delete(`/admin/lockouts/${'0'.repeat(32)}`)
      .set('Authorization', adminAuth())
      .send({ force: true })
      .expect(400);
    expect(response.body.error).toMatchObject({ code: 'InvalidRequestBody', target: 'force' });
    // An empty object is no body: the id is looked up as ever.
    await t.http
      .delete(`/admin/lockouts/${'0'.repeat(32)}`)
      .set('Authorization', adminAuth())
      .send({})
      .expect(404);
  });

  it('keeps the lockouts API for admins', async () => {
    const reader = await createApiUser(t, { roles: ['read'] });
    await t.http
      .get('/admin/lockouts')
      .set('Authorization', basic(reader.publicKey, reader.secretKey))
      .expect(403);
    await t.http
      .delete(`/admin/lockouts/${'0'.repeat(32)}`)
      .set('Authorization', basic(reader.publicKey, reader.secretKey))
      .expect(403);
    expectReason(await t.http.get('/admin/lockouts'), 401, 2, 'InvalidAuthorizationHeader');
  });
});

/**
 * A burst sent at once, each request on a connection of its own, from `address`: the statuses
 * and reason ids of the answers, in the order sent. The `api_users` table is locked while the
 * burst arrives, so that every credential check that starts waits for the database until all
 * requests are in: the bound tested below holds by itself, not by how fast the checks run.
 */
async function burst(
  t: TestApp,
  authorizations: string[],
  address: string,
): Promise<{ status: number; reason: string | null }[]> {
  const url = `${await t.app.getUrl()}/odata/v1`;
  const blocker = new pg.Client({ connectionString: t.db.url });
  await blocker.connect();
  try {
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE api_users IN ACCESS EXCLUSIVE MODE');
    const answers = send(url, authorizations, address);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await blocker.query('COMMIT');
    return await answers;
  } finally {
    await blocker.end();
  }
}

function send(
  url: string,
  authorizations: string[],
  address: string,
): Promise<{ status: number; reason: string | null }[]> {
  return Promise.all(
    authorizations.map(async (authorization) => {
      const response = await fetch(url, {
        headers: { authorization, 'x-forwarded-for': address, connection: 'close' },
      });
      await response.arrayBuffer();
      return {
        status: response.status,
        reason: response.headers.get('smartstore-api-authresultid'),
      };
    }),
  );
}

const countOf = (answers: { reason: string | null }[], reason: string) =>
  answers.filter((answer) => answer.reason === reason).length;

describe('bursts of attempts sent at once', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(
      { ...TRUST_LOOPBACK, AUTH_LOCKOUT_ATTEMPTS: '3', AUTH_IP_BAN_ATTEMPTS: '6' },
      db,
    );
    await t.app.listen(0, '127.0.0.1');
  });
  afterAll(() => t.close());

  // Without a bound on the checks running at once, every request of a burst passed the lock
  // lookup before the first failure was counted, and all 20 got a 3 (all 100 a 4 below).
  it('cannot get past a lock: at most 2 x 3 - 1 wrong secrets of a key are checked', async () => {
    const user = await createApiUser(t);
    const wrong = Array.from({ length: 20 }, (_, i) => basic(user.publicKey, `wrong-${i}-0000000`));
    const answers = await burst(t, wrong, '198.51.100.201');
    expect(countOf(answers, '3')).toBeGreaterThanOrEqual(3);
    expect(countOf(answers, '3')).toBeLessThanOrEqual(5);
    expect(countOf(answers, '6')).toBe(20 - countOf(answers, '3'));
    expectLocked(await get(t, basic(user.publicKey, user.secretKey), '198.51.100.201'), 900);
  });

  it('cannot get past a ban: at most 2 x 6 - 1 unknown keys from an address are checked', async () => {
    const unknown = Array.from({ length: 100 }, (_, i) => basic(`burst-unknown-${i}`, 'x-0000000'));
    const answers = await burst(t, unknown, '198.51.100.202');
    expect(countOf(answers, '4')).toBeGreaterThanOrEqual(6);
    expect(countOf(answers, '4')).toBeLessThanOrEqual(11);
    expect(countOf(answers, '7')).toBe(100 - countOf(answers, '4'));
  });

  it('lets a burst of correct requests through, none refused', async () => {
    const user = await createApiUser(t);
    const answers = await burst(
      t,
      Array.from({ length: 20 }, () => basic(user.publicKey, user.secretKey)),
      '198.51.100.203',
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200));
  });
});

describe('expiry (AUTH_*_DURATION_SECONDS=1)', () => {
  it('ends locks and bans on their own', () =>
    withApp(
      db,
      {
        ...TRUST_LOOPBACK,
        AUTH_LOCKOUT_ATTEMPTS: '2',
        AUTH_LOCKOUT_DURATION_SECONDS: '1',
        AUTH_IP_BAN_ATTEMPTS: '3',
        AUTH_IP_BAN_DURATION_SECONDS: '1',
      },
      async (t) => {
        const user = await createApiUser(t);
        await fail(t, user.publicKey, '203.0.113.1', 2);
        expectLocked(await get(t, basic(user.publicKey, user.secretKey), '203.0.113.1'), 1);
        await eventually(async () => {
          await get(t, basic(user.publicKey, user.secretKey), '203.0.113.1').expect(200);
        });

        for (let i = 0; i < 3; i++) await fail(t, `unknown-${i}-0000`, '203.0.113.2', 1);
        expectBanned(await get(t, basic(user.publicKey, user.secretKey), '203.0.113.2'), 1);
        await eventually(async () => {
          await get(t, basic(user.publicKey, user.secretKey), '203.0.113.2').expect(200);
        });
        expect(await listLocks(t)).toEqual([]);
      },
    ));
});

describe('AUTH_CONCEAL_REASONS=true', () => {
  it('answers a lock exactly as a wrong secret (3): 401 with the challenge, no Retry-After', () =>
    withApp(
      db,
      { ...TRUST_LOOPBACK, AUTH_CONCEAL_REASONS: 'true', AUTH_LOCKOUT_ATTEMPTS: '2' },
      async (t) => {
        const user = await createApiUser(t);
        const address = '203.0.113.3';
        const wrong = await get(t, basic(user.publicKey, 'wrong-secret-000000'), address);
        await get(t, basic(user.publicKey, 'wrong-secret-000001'), address);
        for (const secret of ['wrong-secret-000002', user.secretKey]) {
          const response = await get(t, basic(user.publicKey, secret), address);
          expectReason(response, 401, 3, 'InvalidCredentials');
          expect(response.headers['www-authenticate']).toBe(CHALLENGE);
          expect(response.headers['retry-after']).toBeUndefined();
          expect(response.body).toEqual(wrong.body);
        }
        // The lock is real: it shows in the list, and the key works from elsewhere.
        const locks = await listLocks(t);
        expect(locks).toEqual([expect.objectContaining({ kind: 'key', address })]);
        await get(t, basic(user.publicKey, user.secretKey), '203.0.113.4').expect(200);
      },
    ));

  it('leaves a ban (7, about the address, not the key) at 429', () =>
    withApp(
      db,
      { ...TRUST_LOOPBACK, AUTH_CONCEAL_REASONS: 'true', AUTH_IP_BAN_ATTEMPTS: '2' },
      async (t) => {
        await fail(t, 'unknown-a-00000', '203.0.113.5', 1);
        await fail(t, 'unknown-b-00000', '203.0.113.5', 1);
        expectBanned(await get(t, undefined, '203.0.113.5'), 3600);
      },
    ));
});

describe('switching off with 0 attempts', () => {
  it('AUTH_LOCKOUT_ATTEMPTS=0 and AUTH_IP_BAN_ATTEMPTS=0: no lock, no ban, ever', () =>
    withApp(
      db,
      { ...TRUST_LOOPBACK, AUTH_LOCKOUT_ATTEMPTS: '0', AUTH_IP_BAN_ATTEMPTS: '0' },
      async (t) => {
        const user = await createApiUser(t);
        await fail(t, user.publicKey, '203.0.113.6', 25);
        for (let i = 0; i < 25; i++) await fail(t, `unknown-${i}-0000`, '203.0.113.6', 1);
        await get(t, basic(user.publicKey, user.secretKey), '203.0.113.6').expect(200);
        expect(await listLocks(t)).toEqual([]);
      },
    ));

  it('AUTH_LOCKOUT_ATTEMPTS=0 alone: a key is never locked, its address is still banned', () =>
    withApp(
      db,
      { ...TRUST_LOOPBACK, AUTH_LOCKOUT_ATTEMPTS: '0', AUTH_IP_BAN_ATTEMPTS: '4' },
      async (t) => {
        const user = await createApiUser(t);
        await fail(t, user.publicKey, '203.0.113.7', 4);
        expectBanned(await get(t, basic(user.publicKey, user.secretKey), '203.0.113.7'), 3600);
        expect((await listLocks(t)).map((l) => l.kind)).toEqual(['address']);
      },
    ));

  it('AUTH_IP_BAN_ATTEMPTS=0 alone: an address is never banned, a key is still locked', () =>
    withApp(
      db,
      { ...TRUST_LOOPBACK, AUTH_LOCKOUT_ATTEMPTS: '2', AUTH_IP_BAN_ATTEMPTS: '0' },
      async (t) => {
        const user = await createApiUser(t);
        for (let i = 0; i < 30; i++) await fail(t, `unknown-${i}-0000`, '203.0.113.8', 1);
        await get(t, basic(user.publicKey, user.secretKey), '203.0.113.8').expect(200);
        await fail(t, user.publicKey, '203.0.113.8', 2);
        expectLocked(await get(t, basic(user.publicKey, user.secretKey), '203.0.113.8'), 900);
      },
    ));
});

describe('AUTH_IPV6_PREFIX_LENGTH=128', () => {
  it('counts every IPv6 address on its own, however it is written', () =>
    withApp(
      db,
      { ...TRUST_LOOPBACK, AUTH_LOCKOUT_ATTEMPTS: '2', AUTH_IPV6_PREFIX_LENGTH: '128' },
      async (t) => {
        const user = await createApiUser(t);
        await fail(t, user.publicKey, '2001:db8:7::1', 1);
        await fail(t, user.publicKey, '2001:DB8:7:0:0:0:0:1', 1);
        expectLocked(await get(t, basic(user.publicKey, user.secretKey), '2001:db8:7::1'), 900);
        await get(t, basic(user.publicKey, user.secretKey), '2001:db8:7::2').expect(200);
        expect((await listLocks(t)).map((l) => l.address)).toEqual(['2001:db8:7::1']);
      },
    ));
});

describe('the client address without TRUST_PROXY', () => {
  it('is the socket peer: X-Forwarded-For cannot spread attempts over invented addresses', () =>
    withApp(db, { AUTH_LOCKOUT_ATTEMPTS: '3', AUTH_RESPONSE_MODE: 'mashery' }, async (t) => {
      const user = await createApiUser(t);
      for (let i = 0; i < 3; i++) {
        const response = await get(t, basic(user.publicKey, `wrong-${i}-000000`), `10.9.9.${i}`);
        expect(response.status).toBe(403); // mashery mode: 403 ERR_403_NOT_AUTHORIZED
      }
      // Mashery mode answers a lock like Smartstore mode: 429 with Retry-After.
      const locked = await get(t, basic(user.publicKey, user.secretKey), '10.9.9.200');
      expectLocked(locked, 900);
      expect(locked.headers['x-mashery-error-code']).toBeUndefined();
      const [lock] = await listLocks(t);
      expect(lock).toMatchObject({ kind: 'key', publicKey: user.publicKey });
      expect(['127.0.0.1', '::/64']).toContain(lock.address);
    }));
});
