import { startFreezableProxy } from './support/freezable-proxy';
import { adminAuth, basic, createApiUser, createTestApp, TestApp } from './support/test-app';
import { runOnServer } from './support/test-database';

/** Cuts the app's database off (refusing new connections, ending open ones) and back on. */
async function setDatabaseReachable(t: TestApp, reachable: boolean): Promise<void> {
  const server = process.env.GATEHOUSE_TEST_SERVER_URL!;
  await runOnServer(server, `ALTER DATABASE "${t.db.name}" ALLOW_CONNECTIONS ${reachable}`);
  if (!reachable) {
    await runOnServer(
      server,
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1',
      [t.db.name],
    );
  }
}

describe('when the database is down', () => {
  let t: TestApp;
  let auth: string;
  beforeAll(async () => {
    t = await createTestApp();
    const user = await createApiUser(t);
    auth = basic(user.publicKey, user.secretKey);
    await setDatabaseReachable(t, false);
  });
  afterAll(async () => {
    await setDatabaseReachable(t, true);
    await t.close();
  });

  it('reports it on /health with 503', async () => {
    const response = await t.http.get('/health').expect(503);
    expect(response.body).toMatchObject({ status: 'error', database: 'down' });
    expect(response.body.error.code).toBe('DatabaseUnavailable');
  });

  it.each([
    ['valid credentials', () => auth],
    ['unknown credentials', () => basic('unknown-public-key', 'unknown-secret-value')],
    ['admin credentials', () => adminAuth()],
  ])('answers a request with %s with 503, never a credential failure', async (_, header) => {
    const response = await t.http.get('/admin/settings').set('Authorization', header()).expect(503);
    expect(response.headers['www-authenticate']).toBeUndefined();
    expect(response.headers['smartstore-api-authresultid']).toBeUndefined();
    expect(response.body).toEqual({
      error: { code: 'DatabaseUnavailable', message: expect.any(String) },
    });
    expect(JSON.stringify(response.body)).not.toMatch(/SELECT|api_users|at .*\.js/);
  });

  it('answers an OData request with 503 too (settings and user lookups)', async () => {
    const response = await t.http.get('/odata/v1').set('Authorization', auth).expect(503);
    expect(response.body.error.code).toBe('DatabaseUnavailable');
  });

  it('recovers once the database is back', async () => {
    await setDatabaseReachable(t, true);
    await t.http.get('/health').expect(200);
    await t.http.get('/odata/v1').set('Authorization', auth).expect(200);
    await setDatabaseReachable(t, false);
  });
});

describe('when the database goes down, users verified shortly before', () => {
  const STALE_SECONDS = 3;
  let t: TestApp;
  let verified: { publicKey: string; secretKey: string };
  let neverSeen: { publicKey: string; secretKey: string };
  beforeAll(async () => {
    t = await createTestApp({ AUTH_CACHE_STALE_SECONDS: String(STALE_SECONDS) });
    verified = await createApiUser(t);
    neverSeen = await createApiUser(t);
    await t.http
      .get('/odata/v1')
      .set('Authorization', basic(verified.publicKey, verified.secretKey))
      .expect(200);
    await setDatabaseReachable(t, false);
  });
  afterAll(async () => {
    await setDatabaseReachable(t, true);
    await t.close();
  });

  it('are still served from the cache, with their rules; anyone else gets 503', async () => {
    await t.http.get('/health').expect(503); // the database really is down
    const ok = await t.http
      .get('/odata/v1')
      .set('Authorization', basic(verified.publicKey, verified.secretKey))
      .expect(200);
    expect(ok.body.value).toHaveLength(3);
    // The cached row still refuses a wrong secret as such.
    const wrong = await t.http
      .get('/odata/v1')
      .set('Authorization', basic(verified.publicKey, 'not-the-secret-0123456789'))
      .expect(401);
    expect(wrong.headers['smartstore-api-authresultid']).toBe('3');
    // Known to the database but not verified on this instance: nothing to go on.
    const unknown = await t.http
      .get('/odata/v1')
      .set('Authorization', basic(neverSeen.publicKey, neverSeen.secretKey))
      .expect(503);
    expect(unknown.body.error.code).toBe('DatabaseUnavailable');
    expect(unknown.headers['smartstore-api-authresultid']).toBeUndefined();
  });

  it(`only for AUTH_CACHE_STALE_SECONDS (${STALE_SECONDS} s) after they were read`, async () => {
    await new Promise((resolve) => setTimeout(resolve, STALE_SECONDS * 1000));
    const response = await t.http
      .get('/odata/v1')
      .set('Authorization', basic(verified.publicKey, verified.secretKey))
      .expect(503);
    expect(response.body.error.code).toBe('DatabaseUnavailable');
  });
});

describe('when the database hangs (stops answering rather than refusing)', () => {
  /** Below the pool's limits: 3 s to connect, and the query timeout (2 s here, 15 s in production). */
  const PROMPT_MS = 1000;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it(`answers users verified shortly before within ${PROMPT_MS} ms each, and 503 to anyone else`, async () => {
    const t = await createTestApp();
    const proxy = await startFreezableProxy(t.db.url);
    // A 2 s query timeout rather than 15 s: the unknown user's read below waits it out.
    const behindProxy = await createTestApp(
      { DATABASE_URL: proxy.url, AUTH_CACHE_TTL_SECONDS: '1', AUTH_CACHE_STALE_SECONDS: '300' },
      t.db,
      { queryTimeoutMs: 2000 },
    );
    try {
      const verified = await createApiUser(t);
      const neverSeen = await createApiUser(t);
      const auth = basic(verified.publicKey, verified.secretKey);
      await behindProxy.http.get('/odata/v1').set('Authorization', auth).expect(200);
      proxy.freeze();
      // Past the TTL of the cached user and settings: every request below needs a read.
      await sleep(1100);
      // Not cached: it waits for its read, all the while the cached user's requests go on.
      const unknown = behindProxy.http
        .get('/odata/v1')
        .set('Authorization', basic(neverSeen.publicKey, neverSeen.secretKey))
        .timeout(20_000)
        .then(
          (response) => ({ status: response.status, code: response.body.error?.code }),
          () => ({ status: 'no answer' }),
        );
      const answers: Array<{ status: number | 'no answer'; ms: number }> = [];
      // 3 s, as long as a connection attempt may take: a request that waits for one shows.
      for (let i = 0; i < 12; i++) {
        const started = performance.now();
        const status = await behindProxy.http
          .get('/odata/v1')
          .set('Authorization', auth)
          .timeout(2000)
          .then(
            (response) => response.status,
            () => 'no answer' as const,
          );
        answers.push({ status, ms: Math.round(performance.now() - started) });
        await sleep(250);
      }
      expect(answers.filter(({ status, ms }) => status !== 200 || ms >= PROMPT_MS)).toEqual([]);
      expect(await unknown).toEqual({ status: 503, code: 'DatabaseUnavailable' });
    } finally {
      await proxy.close();
      await behindProxy.close().catch(() => undefined);
      await t.close();
    }
  }, 45_000);
});
