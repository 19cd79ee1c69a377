import { execFileSync } from 'node:child_process';
import Redis from 'ioredis';
import type { Response } from 'supertest';
import { REDIS } from '../src/redis/redis.module';
import { startFreezableProxy } from './support/freezable-proxy';
import { adminAuth, basic, createApiUser, createTestApp, TestApp } from './support/test-app';
import { createTestDatabase, TestDatabase } from './support/test-database';

type User = Awaited<ReturnType<typeof createApiUser>>;

const admin = () => ({ Authorization: adminAuth() });
const as = (user: User) => ({ Authorization: basic(user.publicKey, user.secretKey) });

/** The `t` of `policy` in the RateLimit field, checked to lie in 1..max. */
function expectRateLimit(response: Response, policy: string, remaining: number, max: number) {
  const field = String(response.headers['ratelimit']);
  const match = new RegExp(`"${policy}";r=(\\d+);t=(\\d+)`).exec(field);
  expect(match).not.toBeNull();
  expect(Number(match![1])).toBe(remaining);
  const reset = Number(match![2]);
  expect(reset).toBeGreaterThanOrEqual(1);
  expect(reset).toBeLessThanOrEqual(max);
  return reset;
}

function secondsToUtcMidnight(): number {
  return Math.ceil((86_400_000 - (Date.now() % 86_400_000)) / 1000);
}

function expectNoRateLimitFields(response: Response) {
  expect(response.headers['ratelimit-policy']).toBeUndefined();
  expect(response.headers['ratelimit']).toBeUndefined();
  expect(response.headers['retry-after']).toBeUndefined();
}

describe('rate limits and daily quotas (counters in memory)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('3 per 60 s: three pass with 2, 1, 0 remaining, the fourth is 429 with Retry-After; others are unaffected', async () => {
    const user = await createApiUser(t, { rateLimit: { requests: 3, windowSeconds: 60 } });
    const other = await createApiUser(t, { rateLimit: { requests: 3, windowSeconds: 60 } });
    for (const remaining of [2, 1, 0]) {
      const ok = await t.http.get('/odata/v1').set(as(user)).expect(200);
      expect(ok.headers['ratelimit-policy']).toBe('"rate";q=3;w=60');
      expectRateLimit(ok, 'rate', remaining, 60);
      expect(ok.headers['retry-after']).toBeUndefined();
    }
    const refused = await t.http.get('/odata/v1').set(as(user)).expect(429);
    expect(refused.headers['ratelimit-policy']).toBe('"rate";q=3;w=60');
    const reset = expectRateLimit(refused, 'rate', 0, 60);
    expect(Number(refused.headers['retry-after'])).toBe(reset);
    expect(refused.body).toEqual({
      error: { code: 'RateLimitExceeded', message: expect.stringContaining('3 requests per 60') },
    });
    // Still refused (and the window not extended); another user has a counter of their own.
    const again = await t.http.get('/odata/v1').set(as(user)).expect(429);
    expect(Number(again.headers['retry-after'])).toBeLessThanOrEqual(reset);
    expectRateLimit(await t.http.get('/odata/v1').set(as(other)).expect(200), 'rate', 2, 60);
  });

  it('counts per user across routes, and errors the handler answers carry the fields too', async () => {
    const user = await createApiUser(t, { rateLimit: { requests: 5, windowSeconds: 60 } });
    expectRateLimit(await t.http.get('/odata/v1').set(as(user)).expect(200), 'rate', 4, 60);
    const metadata = await t.http.get('/odata/v1/$metadata').set(as(user)).expect(200);
    expectRateLimit(metadata, 'rate', 3, 60);
    const missing = await t.http.get('/odata/v1/Products(999999)').set(as(user)).expect(404);
    expectRateLimit(missing, 'rate', 2, 60);
    expect(missing.headers['ratelimit-policy']).toBe('"rate";q=5;w=60');
  });

  it('a daily quota of 2: the third request of the UTC day is 429 until 00:00 UTC', async () => {
    const user = await createApiUser(t, { dailyQuota: 2 });
    const first = await t.http.get('/odata/v1').set(as(user)).expect(200);
    expect(first.headers['ratelimit-policy']).toBe('"quota";q=2;w=86400');
    const reset = expectRateLimit(first, 'quota', 1, 86_400);
    expect(Math.abs(reset - secondsToUtcMidnight())).toBeLessThanOrEqual(5);
    expectRateLimit(await t.http.get('/odata/v1').set(as(user)).expect(200), 'quota', 0, 86_400);
    const refused = await t.http.get('/odata/v1').set(as(user)).expect(429);
    expect(refused.body.error.code).toBe('QuotaExceeded');
    expect(refused.body.error.message).toContain('00:00 UTC');
    expectRateLimit(refused, 'quota', 0, 86_400);
    expect(
      Math.abs(Number(refused.headers['retry-after']) - secondsToUtcMidnight()),
    ).toBeLessThanOrEqual(5);
  });

  it('with both, RateLimit-Policy names both and RateLimit reports each', async () => {
    const user = await createApiUser(t, {
      rateLimit: { requests: 10, windowSeconds: 30 },
      dailyQuota: 3,
    });
    const ok = await t.http.get('/odata/v1').set(as(user)).expect(200);
    expect(ok.headers['ratelimit-policy']).toBe('"rate";q=10;w=30, "quota";q=3;w=86400');
    expect(ok.headers['ratelimit']).toMatch(/^"rate";r=9;t=\d+, "quota";r=2;t=\d+$/);
    await t.http.get('/odata/v1').set(as(user)).expect(200);
    await t.http.get('/odata/v1').set(as(user)).expect(200);
    // The quota refuses; the rate had room (7 left once this one is counted).
    const refused = await t.http.get('/odata/v1').set(as(user)).expect(429);
    expect(refused.body.error.code).toBe('QuotaExceeded');
    expect(refused.headers['ratelimit']).toMatch(/^"rate";r=6;t=\d+, "quota";r=0;t=\d+$/);
  });

  it('a request refused by the rate uses up none of the quota', async () => {
    const user = await createApiUser(t, {
      rateLimit: { requests: 1, windowSeconds: 60 },
      dailyQuota: 5,
    });
    const ok = await t.http.get('/odata/v1').set(as(user)).expect(200);
    expect(ok.headers['ratelimit']).toMatch(/"quota";r=4;/);
    for (let i = 0; i < 3; i++) {
      const refused = await t.http.get('/odata/v1').set(as(user)).expect(429);
      expect(refused.body.error.code).toBe('RateLimitExceeded');
      expect(refused.headers['ratelimit']).toMatch(/^"rate";r=0;t=\d+$/);
    }
    // Raise the rate: the quota still has 4 of 5, so this one leaves 3.
    await t.http
      .patch(`/admin/api-users/${user.id}`)
      .set(admin())
      .send({ rateLimit: { requests: 100, windowSeconds: 60 } })
      .expect(200);
    const after = await t.http.get('/odata/v1').set(as(user)).expect(200);
    expect(after.headers['ratelimit']).toMatch(/"quota";r=3;/);
  });

  it('an admin PATCH applies to the next request: raise, switch off with 0, back to the default with null', async () => {
    const user = await createApiUser(t, { rateLimit: { requests: 2, windowSeconds: 60 } });
    await t.http.get('/odata/v1').set(as(user)).expect(200);
    await t.http.get('/odata/v1').set(as(user)).expect(200);
    await t.http.get('/odata/v1').set(as(user)).expect(429);

    const raised = await t.http
      .patch(`/admin/api-users/${user.id}`)
      .set(admin())
      .send({ rateLimit: { requests: 5 } })
      .expect(200);
    // windowSeconds left out: RATE_LIMIT_WINDOW_SECONDS (60 by default).
    expect(raised.body.rateLimit).toEqual({ requests: 5, windowSeconds: 60 });
    // Counted so far: the two admitted and the refused one.
    const ok = await t.http.get('/odata/v1').set(as(user)).expect(200);
    expect(ok.headers['ratelimit-policy']).toBe('"rate";q=5;w=60');
    expectRateLimit(ok, 'rate', 1, 60);

    const off = await t.http
      .patch(`/admin/api-users/${user.id}`)
      .set(admin())
      .send({ rateLimit: { requests: 0 } })
      .expect(200);
    expect(off.body).toMatchObject({
      rateLimit: { requests: 0, windowSeconds: 60 },
      effectiveRateLimit: null,
    });
    for (let i = 0; i < 5; i++) {
      expectNoRateLimitFields(await t.http.get('/odata/v1').set(as(user)).expect(200));
    }

    const reset = await t.http
      .patch(`/admin/api-users/${user.id}`)
      .set(admin())
      .send({ rateLimit: null, dailyQuota: null })
      .expect(200);
    expect(reset.body).toMatchObject({
      rateLimit: null,
      dailyQuota: null,
      effectiveRateLimit: null,
      effectiveDailyQuota: null,
    });
    expectNoRateLimitFields(await t.http.get('/odata/v1').set(as(user)).expect(200));
  });

  it('a changed window starts a new count: a refusal of a long window does not outlive it', async () => {
    const user = await createApiUser(t, { rateLimit: { requests: 1, windowSeconds: 3600 } });
    await t.http.get('/odata/v1').set(as(user)).expect(200);
    const refused = await t.http.get('/odata/v1').set(as(user)).expect(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(3000);

    await t.http
      .patch(`/admin/api-users/${user.id}`)
      .set(admin())
      .send({ rateLimit: { requests: 1, windowSeconds: 5 } })
      .expect(200);
    const ok = await t.http.get('/odata/v1').set(as(user)).expect(200);
    expect(ok.headers['ratelimit-policy']).toBe('"rate";q=1;w=5');
    expectRateLimit(ok, 'rate', 0, 5);
    const again = await t.http.get('/odata/v1').set(as(user)).expect(429);
    expect(Number(again.headers['retry-after'])).toBeLessThanOrEqual(5);
  });

  it('a 30-day window lasts 30 days, beyond what setTimeout can wait (24.8 days)', async () => {
    const user = await createApiUser(t, { rateLimit: { requests: 5, windowSeconds: 2_592_000 } });
    const first = await t.http.get('/odata/v1').set(as(user)).expect(200);
    expect(first.headers['ratelimit-policy']).toBe('"rate";q=5;w=2592000');
    expect(expectRateLimit(first, 'rate', 4, 2_592_000)).toBeGreaterThan(2_592_000 - 5);
    // The counter was not dropped at once (a timer of over 2^31-1 ms fires immediately).
    expectRateLimit(await t.http.get('/odata/v1').set(as(user)).expect(200), 'rate', 3, 2_592_000);
  });

  it('a user without limits gets no fields; neither do /health and the admin API', async () => {
    const user = await createApiUser(t);
    expectNoRateLimitFields(await t.http.get('/odata/v1').set(as(user)).expect(200));
    expectNoRateLimitFields(await t.http.get('/health').expect(200));
    expectNoRateLimitFields(await t.http.get('/admin/api-users').set(admin()).expect(200));
  });

  it('runs after authentication: 401 and 403 answer as ever, even at the limit, and count for nothing', async () => {
    const user = await createApiUser(t, {
      roles: ['read'],
      rateLimit: { requests: 2, windowSeconds: 60 },
      dailyQuota: 2,
    });
    const wrongSecret = { Authorization: basic(user.publicKey, 'not-the-secret-0123456789') };
    for (let i = 0; i < 3; i++) {
      const denied = await t.http.get('/odata/v1').set(wrongSecret).expect(401);
      expect(denied.headers['smartstore-api-authresultdesc']).toBe('InvalidCredentials');
      expectNoRateLimitFields(denied);
    }
    expectNoRateLimitFields(await t.http.get('/odata/v1').expect(401));
    // Authenticated but without the write role: 403 from ApiKeyGuard, not counted either.
    const forbidden = await t.http
      .post('/odata/v1/Products')
      .set(as(user))
      .send({ Name: 'x', Sku: 'RL-403', Price: 1 })
      .expect(403);
    expectNoRateLimitFields(forbidden);

    const first = await t.http.get('/odata/v1').set(as(user)).expect(200);
    expect(first.headers['ratelimit']).toMatch(/^"rate";r=1;t=\d+, "quota";r=1;t=\d+$/);
    await t.http.get('/odata/v1').set(as(user)).expect(200);
    await t.http.get('/odata/v1').set(as(user)).expect(429);
    // At the limit, a wrong secret is still the authentication guard's 401, not a 429.
    const denied = await t.http.get('/odata/v1').set(wrongSecret).expect(401);
    expect(denied.headers['smartstore-api-authresultdesc']).toBe('InvalidCredentials');
  });

  it('shows the stored and the effective limits in the admin views', async () => {
    const user = await createApiUser(t, {
      rateLimit: { requests: 100, windowSeconds: 10 },
      dailyQuota: 5000,
    });
    const shown = await t.http.get(`/admin/api-users/${user.id}`).set(admin()).expect(200);
    expect(shown.body).toMatchObject({
      rateLimit: { requests: 100, windowSeconds: 10 },
      dailyQuota: 5000,
      effectiveRateLimit: { requests: 100, windowSeconds: 10 },
      effectiveDailyQuota: 5000,
    });
    const [row] = await t.db.query(
      'SELECT rate_limit_requests, rate_limit_window_seconds, daily_quota FROM api_users WHERE id = $1',
      [user.id],
    );
    expect(row).toEqual({
      rate_limit_requests: 100,
      rate_limit_window_seconds: 10,
      daily_quota: 5000,
    });
    // A PATCH that names neither keeps them.
    const renamed = await t.http
      .patch(`/admin/api-users/${user.id}`)
      .set(admin())
      .send({ name: 'renamed' })
      .expect(200);
    expect(renamed.body).toMatchObject({
      rateLimit: { requests: 100, windowSeconds: 10 },
      dailyQuota: 5000,
    });
  });

  describe('validation: 400 naming the field', () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['a rate limit that is a number', { rateLimit: 5 }, 'rateLimit'],
      ['a rate limit that is a list', { rateLimit: [{ requests: 1 }] }, 'rateLimit'],
      ['a rate limit without requests', { rateLimit: { windowSeconds: 60 } }, 'rateLimit.requests'],
      ['negative requests', { rateLimit: { requests: -1 } }, 'rateLimit.requests'],
      ['fractional requests', { rateLimit: { requests: 1.5 } }, 'rateLimit.requests'],
      ['requests as a string', { rateLimit: { requests: '10' } }, 'rateLimit.requests'],
      ['requests over 10^9', { rateLimit: { requests: 1_000_000_001 } }, 'rateLimit.requests'],
      [
        'a zero window',
        { rateLimit: { requests: 1, windowSeconds: 0 } },
        'rateLimit.windowSeconds',
      ],
      [
        'a window over 30 days',
        { rateLimit: { requests: 1, windowSeconds: 2_592_001 } },
        'rateLimit.windowSeconds',
      ],
      ['an unknown rate limit field', { rateLimit: { requests: 1, burst: 2 } }, 'rateLimit.burst'],
      ['a negative daily quota', { dailyQuota: -5 }, 'dailyQuota'],
      ['a daily quota as a string', { dailyQuota: '100' }, 'dailyQuota'],
      ['a fractional daily quota', { dailyQuota: 0.5 }, 'dailyQuota'],
    ];
    it.each(cases)('refuses %s on POST and PATCH', async (_, body, field) => {
      const user = await createApiUser(t);
      for (const request of [
        t.http.post('/admin/api-users').send({ name: 'x', ...body }),
        t.http.patch(`/admin/api-users/${user.id}`).send(body),
      ]) {
        const response = await request.set(admin()).expect(400);
        expect(response.body.error.code).toBe('InvalidRequestBody');
        expect(response.body.error.message).toContain(field);
        expect(response.body.error.details.map((d: { target: string }) => d.target)).toContain(
          field,
        );
      }
    });
  });
});

describe('rate limits and quotas from the environment', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      RATE_LIMIT_REQUESTS: '2',
      RATE_LIMIT_WINDOW_SECONDS: '30',
      DAILY_QUOTA: '100',
    });
  });
  afterAll(() => t.close());

  it('apply to users without limits of their own, and the views show them as effective', async () => {
    const user = await createApiUser(t);
    expect(user).toMatchObject({
      rateLimit: null,
      dailyQuota: null,
      effectiveRateLimit: { requests: 2, windowSeconds: 30 },
      effectiveDailyQuota: 100,
    });
    const ok = await t.http.get('/odata/v1').set(as(user)).expect(200);
    expect(ok.headers['ratelimit-policy']).toBe('"rate";q=2;w=30, "quota";q=100;w=86400');
    expect(ok.headers['ratelimit']).toMatch(/^"rate";r=1;t=\d+, "quota";r=99;t=\d+$/);
    await t.http.get('/odata/v1').set(as(user)).expect(200);
    const refused = await t.http.get('/odata/v1').set(as(user)).expect(429);
    expect(refused.body.error.code).toBe('RateLimitExceeded');
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(30);
  });

  it("a user's own limits replace them, and 0 switches each off for that user", async () => {
    const own = await createApiUser(t, { rateLimit: { requests: 50 }, dailyQuota: 7 });
    expect(own).toMatchObject({
      rateLimit: { requests: 50, windowSeconds: 30 },
      effectiveRateLimit: { requests: 50, windowSeconds: 30 },
      effectiveDailyQuota: 7,
    });
    const ok = await t.http.get('/odata/v1').set(as(own)).expect(200);
    expect(ok.headers['ratelimit-policy']).toBe('"rate";q=50;w=30, "quota";q=7;w=86400');

    const unlimited = await createApiUser(t, { rateLimit: { requests: 0 }, dailyQuota: 0 });
    expect(unlimited).toMatchObject({ effectiveRateLimit: null, effectiveDailyQuota: null });
    for (let i = 0; i < 4; i++) {
      expectNoRateLimitFields(await t.http.get('/odata/v1').set(as(unlimited)).expect(200));
    }
  });

  it('the admin API is neither limited nor given the fields; the same key on /odata is', async () => {
    for (let i = 0; i < 5; i++) {
      expectNoRateLimitFields(await t.http.get('/admin/settings').set(admin()).expect(200));
    }
    await t.http.get('/odata/v1').set(admin()).expect(200);
    await t.http.get('/odata/v1').set(admin()).expect(200);
    await t.http.get('/odata/v1').set(admin()).expect(429);
    await t.http.get('/admin/api-users').set(admin()).expect(200);
  });
});

// ---------------------------------------------------------------------------------------------
// Redis: several instances behind a load balancer share the counters.

const REDIS_URL = process.env.GATEHOUSE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/11';

/**
 * Whether a Redis answers PING at `url`. Asked from a child process, synchronously, because
 * whether to skip must be known while the tests are declared (and tsc's CommonJS output has
 * no top-level await).
 */
function redisAnswers(url: string): boolean {
  const probe = `
    const Redis = require('ioredis');
    const client = new Redis(process.argv[1], {
      lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null,
    });
    client.on('error', () => undefined);
    client.connect().then(() => client.ping()).then(
      (answer) => process.exit(answer === 'PONG' ? 0 : 1),
      () => process.exit(1),
    );`;
  try {
    execFileSync(process.execPath, ['-e', probe, url], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

const redisUp = redisAnswers(REDIS_URL);
if (!redisUp) {
  console.warn(`SKIPPED: the Redis rate-limit tests (no Redis answers at ${REDIS_URL})`);
}

(redisUp ? describe : describe.skip)(`rate limits in Redis (${REDIS_URL})`, () => {
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  let redis: Redis;
  const users: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    a = await createTestApp({ REDIS_URL }, db);
    b = await createTestApp({ REDIS_URL }, db);
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    for (const id of users) {
      const keys = await redis.keys(`gatehouse:throttle:*${id}*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    redis.disconnect();
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  const create = async (body: Record<string, unknown>) => {
    const user = await createApiUser(a, body);
    users.push(user.id);
    return user;
  };

  it('two instances share one rate counter', async () => {
    const user = await create({ rateLimit: { requests: 3, windowSeconds: 60 } });
    expectRateLimit(await a.http.get('/odata/v1').set(as(user)).expect(200), 'rate', 2, 60);
    expectRateLimit(await b.http.get('/odata/v1').set(as(user)).expect(200), 'rate', 1, 60);
    expectRateLimit(await a.http.get('/odata/v1').set(as(user)).expect(200), 'rate', 0, 60);
    const refused = await b.http.get('/odata/v1').set(as(user)).expect(429);
    expect(refused.body.error.code).toBe('RateLimitExceeded');
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    await a.http.get('/odata/v1').set(as(user)).expect(429);

    const ttl = await redis.pttl(`gatehouse:throttle:rate:${user.id}:60`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('two instances share one daily quota, kept under the UTC day until 00:00 UTC', async () => {
    const user = await create({ dailyQuota: 2 });
    expectRateLimit(await b.http.get('/odata/v1').set(as(user)).expect(200), 'quota', 1, 86_400);
    expectRateLimit(await a.http.get('/odata/v1').set(as(user)).expect(200), 'quota', 0, 86_400);
    const refused = await b.http.get('/odata/v1').set(as(user)).expect(429);
    expect(refused.body.error.code).toBe('QuotaExceeded');

    const day = new Date().toISOString().slice(0, 10);
    const ttl = await redis.pttl(`gatehouse:throttle:quota:${user.id}:${day}`);
    expect(Math.abs(ttl / 1000 - secondsToUtcMidnight())).toBeLessThanOrEqual(5);
  });

  it('a 30-day window is kept in Redis for 30 days', async () => {
    const user = await create({ rateLimit: { requests: 5, windowSeconds: 2_592_000 } });
    const first = await a.http.get('/odata/v1').set(as(user)).expect(200);
    expect(expectRateLimit(first, 'rate', 4, 2_592_000)).toBeGreaterThan(2_592_000 - 5);
    expectRateLimit(await b.http.get('/odata/v1').set(as(user)).expect(200), 'rate', 3, 2_592_000);
    const ttl = await redis.pttl(`gatehouse:throttle:rate:${user.id}:2592000`);
    expect(ttl).toBeGreaterThan(2_592_000_000 - 5000);
  });

  it("a limit changed through one instance applies to the other's next request", async () => {
    const user = await create({ rateLimit: { requests: 1, windowSeconds: 60 } });
    await a.http.get('/odata/v1').set(as(user)).expect(200);
    await b.http.get('/odata/v1').set(as(user)).expect(429);
    await a.http
      .patch(`/admin/api-users/${user.id}`)
      .set(admin())
      .send({ rateLimit: { requests: 4, windowSeconds: 60 } })
      .expect(200);
    // Counted: one admitted, one refused; this is the third of four.
    expectRateLimit(await b.http.get('/odata/v1').set(as(user)).expect(200), 'rate', 1, 60);
  });

  // These two last: the app each starts is the newest, whose Passport strategy every app then uses.
  it('while Redis is unreachable, an instance keeps limiting in its own memory', async () => {
    const c = await createTestApp({ REDIS_URL }, db);
    try {
      const user = await create({ rateLimit: { requests: 2, windowSeconds: 60 } });
      c.app.get<Redis>(REDIS).disconnect();
      expectRateLimit(await c.http.get('/odata/v1').set(as(user)).expect(200), 'rate', 1, 60);
      expectRateLimit(await c.http.get('/odata/v1').set(as(user)).expect(200), 'rate', 0, 60);
      await c.http.get('/odata/v1').set(as(user)).expect(429);
      expect(await redis.exists(`gatehouse:throttle:rate:${user.id}:60`)).toBe(0);
    } finally {
      await c.close();
    }
  });

  it('when Redis stops answering, one request waits for it (1 s); the next are answered at once, counted in memory', async () => {
    // Connections stay open and nothing comes back: a frozen Redis, or its network gone.
    const proxy = await startFreezableProxy(REDIS_URL);
    const c = await createTestApp({ REDIS_URL: proxy.url }, db);
    const timed = async (path: string, headers: Record<string, string>) => {
      const started = performance.now();
      const response = await c.http.get(path).set(headers);
      return { response, ms: performance.now() - started };
    };
    try {
      const user = await create({ rateLimit: { requests: 3, windowSeconds: 60 } });
      expectRateLimit(await c.http.get('/odata/v1').set(as(user)).expect(200), 'rate', 2, 60);
      proxy.freeze();
      // This one's count fails after its 1 s and is made in memory (a count of its own).
      const waited = await timed('/odata/v1', as(user));
      expect(waited.response.status).toBe(200);
      expect(waited.ms).toBeLessThan(1800);
      // A request that waited for Redis again would take 1 s.
      for (const [status, remaining] of [
        [200, 1],
        [200, 0],
        [429, 0],
      ]) {
        const { response, ms } = await timed('/odata/v1', as(user));
        expect(response.status).toBe(status);
        expectRateLimit(response, 'rate', remaining, 60);
        expect(ms).toBeLessThan(800);
      }
      // Failed attempts are counted in memory at once too.
      const wrong = await timed('/odata/v1', {
        Authorization: basic(user.publicKey, 'x'.repeat(32)),
      });
      expect(wrong.response.status).toBe(401);
      expect(wrong.ms).toBeLessThan(800);
    } finally {
      await c.close();
      await proxy.close();
    }
  });

  it('a connection Redis closed with a command outstanding: the new connection is not dropped', async () => {
    const c = await createTestApp({ REDIS_URL }, db);
    const client = c.app.get<Redis>(REDIS);
    try {
      const id = await client.client('ID');
      const ready = new Promise((resolve) => client.once('ready', resolve));
      const closes: number[] = [];
      client.on('close', () => closes.push(Date.now()));
      // Outstanding when its connection goes: arms ioredis's socket timeout (900 ms).
      client.blpop('gatehouse:test:nothing', 0.5).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await redis.client('KILL', 'ID', String(id));
      await ready;
      const failures: string[] = [];
      for (let i = 0; i < 12; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        await client.incr('gatehouse:test:counter').catch((error: Error) => {
          failures.push(error.message);
        });
      }
      // The stale timer destroyed the new connection ~900 ms after the old one's command.
      expect(failures).toEqual([]);
      expect(closes).toHaveLength(1);
    } finally {
      await redis.del('gatehouse:test:counter');
      await c.close();
    }
  });
});
