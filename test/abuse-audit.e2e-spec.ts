import { adminAuth, basic, createApiUser, createTestApp, TestApp } from './support/test-app';

/** The audit trail has a row for each abuse-resistance case: lock, ban, lift, rate limit. */
describe('audit rows for locks, bans, lifts and limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      TRUST_PROXY: 'true',
      AUTH_LOCKOUT_ATTEMPTS: '2',
      AUTH_IP_BAN_ATTEMPTS: '4',
    });
  });
  afterAll(() => t.close());

  const from = (address: string) => ({ 'X-Forwarded-For': address });
  const audit = async (query: string) =>
    (await t.http.get(`/admin/audit?${query}`).set('Authorization', adminAuth()).expect(200)).body
      .value as Record<string, unknown>[];

  it('records the lock (6), the ban (7), the lift and a rate-limit 429', async () => {
    const user = await createApiUser(t, { rateLimit: { requests: 1, windowSeconds: 60 } });
    const wrong = basic(user.publicKey, 'not-the-right-secret-000');
    for (let i = 0; i < 2; i++) {
      await t.http.get('/odata/v1').set(from('10.9.0.1')).set('Authorization', wrong).expect(401);
    }
    const locked = await t.http
      .get('/odata/v1')
      .set(from('10.9.0.1'))
      .set('Authorization', basic(user.publicKey, user.secretKey))
      .expect(429);
    expect(locked.headers['smartstore-api-authresultdesc']).toBe('UserLocked');

    for (let i = 0; i < 4; i++) {
      await t.http
        .get('/odata/v1')
        .set(from('10.9.0.2'))
        .set('Authorization', basic(`unknown-key-${i}`, 'some-secret-value-1'))
        .expect(401);
    }
    await t.http.get('/odata/v1').set(from('10.9.0.2')).expect(429);

    const locks = await t.http.get('/admin/lockouts').set('Authorization', adminAuth()).expect(200);
    const lock = locks.body.value.find(
      (l: { publicKey?: string }) => l.publicKey === user.publicKey,
    );
    await t.http.delete(`/admin/lockouts/${lock.id}`).set('Authorization', adminAuth()).expect(204);

    const auth = basic(user.publicKey, user.secretKey);
    await t.http.get('/odata/v1').set(from('10.9.0.3')).set('Authorization', auth).expect(200);
    const limited = await t.http.get('/odata/v1').set(from('10.9.0.3')).set('Authorization', auth);
    expect(limited.status).toBe(429);

    expect(await audit('reason=UserLocked')).toContainEqual(
      expect.objectContaining({ publicKey: user.publicKey, clientAddress: '10.9.0.1' }),
    );
    expect(await audit('reason=ClientBlocked')).toContainEqual(
      expect.objectContaining({ clientAddress: '10.9.0.2', kind: 'denial' }),
    );
    expect(await audit('action=lockouts.lift')).toContainEqual(
      expect.objectContaining({ kind: 'admin', target: lock.id, actor: expect.any(String) }),
    );
    expect(await audit('reason=RateLimitExceeded')).toContainEqual(
      expect.objectContaining({ publicKey: user.publicKey, clientAddress: '10.9.0.3' }),
    );
  });
});
