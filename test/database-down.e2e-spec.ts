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
