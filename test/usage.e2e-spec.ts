import { addDays, utcDay } from '../src/usage/utc-day';
import { adminAuth, basic, createApiUser, createTestApp, TestApp } from './support/test-app';
import { createTestDatabase } from './support/test-database';

type User = Awaited<ReturnType<typeof createApiUser>>;

const admin = () => ({ Authorization: adminAuth() });
const as = (user: User) => ({ Authorization: basic(user.publicKey, user.secretKey) });

async function storedUsage(t: TestApp, userId: string) {
  return t.db.query<{ day: string; requests: string }>(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, requests FROM api_usage
      WHERE api_user_id = $1 ORDER BY day`,
    [userId],
  );
}

describe('usage metering: GET /admin/api-users/{id}/usage', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('counts requests per user and day in memory, writes them behind, and reports them at once', async () => {
    const user = await createApiUser(t);
    const other = await createApiUser(t);
    for (let i = 0; i < 4; i++) await t.http.get('/odata/v1').set(as(user)).expect(200);
    await t.http.get('/odata/v1').set(as(other)).expect(200);
    // LAST_REQUEST_FLUSH_MS is a minute in the tests: nothing written per request.
    expect(await storedUsage(t, user.id)).toEqual([]);

    const today = utcDay(Date.now());
    const report = await t.http.get(`/admin/api-users/${user.id}/usage`).set(admin()).expect(200);
    expect(report.body).toEqual({
      from: addDays(today, -29),
      to: today,
      value: [{ day: today, requests: 4 }],
      total: 4,
    });
    // The report wrote the counts first (one upsert for every user).
    expect(await storedUsage(t, user.id)).toEqual([{ day: today, requests: '4' }]);
    expect(await storedUsage(t, other.id)).toEqual([{ day: today, requests: '1' }]);

    // Later requests are added to the day's row.
    await t.http.get('/odata/v1').set(as(user)).expect(200);
    const again = await t.http.get(`/admin/api-users/${user.id}/usage`).set(admin()).expect(200);
    expect(again.body.value).toEqual([{ day: today, requests: 5 }]);
    expect(await storedUsage(t, user.id)).toEqual([{ day: today, requests: '5' }]);
  });

  it('bills served requests: not 401, 403 or 429, nor the admin API; a 404 from the API counts', async () => {
    const user = await createApiUser(t, {
      roles: ['read'],
      rateLimit: { requests: 3, windowSeconds: 60 },
    });
    await t.http.get('/odata/v1').set(as(user)).expect(200);
    await t.http.get('/odata/v1/Products(999999)').set(as(user)).expect(404);
    await t.http
      .get('/odata/v1')
      .set({ Authorization: basic(user.publicKey, 'wrong-secret-0123456789') })
      .expect(401);
    await t.http.post('/odata/v1/Products').set(as(user)).send({ Name: 'x' }).expect(403);
    await t.http.get('/odata/v1').set(as(user)).expect(200);
    await t.http.get('/odata/v1').set(as(user)).expect(429);
    await t.http.get('/odata/v1').set(as(user)).expect(429);

    const report = await t.http.get(`/admin/api-users/${user.id}/usage`).set(admin()).expect(200);
    expect(report.body.total).toBe(3);

    const list = await t.http.get('/admin/api-users').set(admin()).expect(200);
    const adminId = list.body.value.find((u: { roles: string[] }) => u.roles.includes('admin')).id;
    const adminUsage = await t.http
      .get(`/admin/api-users/${adminId}/usage`)
      .set(admin())
      .expect(200);
    expect(adminUsage.body).toMatchObject({ value: [], total: 0 });
  });

  it('reports the days from `from` to `to` inclusive, oldest first, with their total', async () => {
    const user = await createApiUser(t);
    const today = utcDay(Date.now());
    for (const [offset, requests] of [
      [-40, 7],
      [-29, 5],
      [-10, 3],
      [-1, 2],
    ]) {
      await t.db.query('INSERT INTO api_usage (api_user_id, day, requests) VALUES ($1, $2, $3)', [
        user.id,
        addDays(today, offset),
        requests,
      ]);
    }
    await t.http.get('/odata/v1').set(as(user)).expect(200);
    const get = (query: string) =>
      t.http.get(`/admin/api-users/${user.id}/usage${query}`).set(admin()).expect(200);

    // Default: the last 30 days, today included.
    expect((await get('')).body).toEqual({
      from: addDays(today, -29),
      to: today,
      value: [
        { day: addDays(today, -29), requests: 5 },
        { day: addDays(today, -10), requests: 3 },
        { day: addDays(today, -1), requests: 2 },
        { day: today, requests: 1 },
      ],
      total: 11,
    });
    const from = addDays(today, -45);
    const to = addDays(today, -10);
    expect((await get(`?from=${from}&to=${to}`)).body).toEqual({
      from,
      to,
      value: [
        { day: addDays(today, -40), requests: 7 },
        { day: addDays(today, -29), requests: 5 },
        { day: addDays(today, -10), requests: 3 },
      ],
      total: 15,
    });
    // Only `from`: up to today. Only `to`: the 30 days up to it. One day: from = to.
    expect((await get(`?from=${addDays(today, -1)}`)).body).toMatchObject({ to: today, total: 3 });
    expect((await get(`?to=${addDays(today, -1)}`)).body).toMatchObject({
      from: addDays(today, -30),
      total: 10,
    });
    expect((await get(`?from=${today}&to=${today}`)).body.value).toEqual([
      { day: today, requests: 1 },
    ]);
    // The default `from` stops at the first day there is (year 0 was a 500 from PostgreSQL).
    expect((await get('?to=0001-01-05')).body).toEqual({
      from: '0001-01-01',
      to: '0001-01-05',
      value: [],
      total: 0,
    });
    expect((await get('?from=2001-01-01&to=2001-12-31')).body).toEqual({
      from: '2001-01-01',
      to: '2001-12-31',
      value: [],
      total: 0,
    });
  });

  it.each([
    ['from=2026-02-30', 'from'],
    ['from=2026-1-5', 'from'],
    ['from=yesterday', 'from'],
    ['to=20261123', 'to'],
    ['to=2026-11-23T00:00:00Z', 'to'],
    ['from=2026-01-01&from=2026-01-02', 'from'],
    ['from=2026-11-23&to=2026-11-22', 'from'],
    // Unknown parameters were ignored (200), as the audit's are not.
    ['form=2026-11-01', 'form'],
    ['to=2026-11-23&toString=1', 'toString'],
  ])('refuses ?%s with 400 naming %s', async (query, target) => {
    const user = await createApiUser(t);
    const response = await t.http
      .get(`/admin/api-users/${user.id}/usage?${query}`)
      .set(admin())
      .expect(400);
    expect(response.body.error).toMatchObject({ code: 'InvalidQuery', target });
    expect(response.body.error.message).toContain(target);
  });

  it('answers 404 for an unknown or malformed id, and 403 to a user without the admin role', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const response = await t.http.get(`/admin/api-users/${id}/usage`).set(admin()).expect(404);
      expect(response.body.error.code).toBe('NotFound');
    }
    const user = await createApiUser(t);
    await t.http.get(`/admin/api-users/${user.id}/usage`).set(as(user)).expect(403);
  });

  it('drops the counts of a user deleted before they were written, and writes the others', async () => {
    const gone = await createApiUser(t);
    const kept = await createApiUser(t);
    await t.http.get('/odata/v1').set(as(gone)).expect(200);
    await t.http.get('/odata/v1').set(as(kept)).expect(200);
    await t.http.delete(`/admin/api-users/${gone.id}`).set(admin()).expect(204);
    const report = await t.http.get(`/admin/api-users/${kept.id}/usage`).set(admin()).expect(200);
    expect(report.body.total).toBe(1);
    expect(await storedUsage(t, gone.id)).toEqual([]);
  });
});

describe('usage metering: writing', () => {
  it('writes every LAST_REQUEST_FLUSH_MS', async () => {
    const t = await createTestApp({ LAST_REQUEST_FLUSH_MS: '100' });
    try {
      const user = await createApiUser(t);
      await t.http.get('/odata/v1').set(as(user)).expect(200);
      await t.http.get('/odata/v1').set(as(user)).expect(200);
      let rows: { requests: string }[] = [];
      for (let i = 0; i < 50 && rows[0]?.requests !== '2'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        rows = await storedUsage(t, user.id);
      }
      expect(rows).toEqual([{ day: utcDay(Date.now()), requests: '2' }]);
    } finally {
      await t.close();
    }
  });

  it('writes what is left when the app shuts down, and two instances add up', async () => {
    const db = await createTestDatabase();
    try {
      const a = await createTestApp({}, db);
      // Created last, so its Passport strategy is the one both apps use (Passport's registry is
      // global): b must be the one that stays open.
      const b = await createTestApp({}, db);
      const user = await createApiUser(b);
      for (let i = 0; i < 3; i++) await a.http.get('/odata/v1').set(as(user)).expect(200);
      for (let i = 0; i < 2; i++) await b.http.get('/odata/v1').set(as(user)).expect(200);
      await a.app.close();
      // a's counts were written when it shut down; b's are flushed by the report.
      const report = await b.http.get(`/admin/api-users/${user.id}/usage`).set(admin()).expect(200);
      expect(report.body.total).toBe(5);
      await b.http.get('/odata/v1').set(as(user)).expect(200);
      await b.app.close();
      const rows = await db.query<{ requests: string }>(
        'SELECT requests FROM api_usage WHERE api_user_id = $1',
        [user.id],
      );
      expect(rows).toEqual([{ requests: '6' }]);
    } finally {
      await db.drop();
    }
  });
});
