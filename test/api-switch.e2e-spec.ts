import { adminAuth, basic, createApiUser, createTestApp, TestApp } from './support/test-app';

describe('switching the API off and on (reason 0, ApiDisabled)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('answers every non-admin request with 401 ApiDisabled while off, and serves again when on', async () => {
    const user = await createApiUser(t);
    const auth = basic(user.publicKey, user.secretKey);
    await t.http.get('/odata/v1').set('Authorization', auth).expect(200);

    const off = await t.http
      .patch('/admin/settings')
      .set('Authorization', adminAuth())
      .send({ apiEnabled: false })
      .expect(200);
    expect(off.body).toMatchObject({ apiEnabled: false, maxTop: 120 });

    for (const header of [auth, undefined, basic('unknown-key-123', 'wrong-secret-1234')]) {
      const req = t.http.get('/odata/v1');
      if (header) req.set('Authorization', header);
      const response = await req.expect(401);
      expect(response.headers['smartstore-api-authresultid']).toBe('0');
      expect(response.headers['smartstore-api-authresultdesc']).toBe('ApiDisabled');
      expect(response.headers['www-authenticate']).toBe(
        'Basic realm="Smartstore.WebApi", charset="UTF-8"',
      );
      expect(response.body.error.code).toBe('ApiDisabled');
    }

    // /admin stays reachable (else nobody could switch it back on), with every other check.
    await t.http.get('/admin/settings').set('Authorization', adminAuth()).expect(200);
    const adminDenied = await t.http.get('/admin/settings').expect(401);
    expect(adminDenied.headers['smartstore-api-authresultid']).toBe('2');
    await t.http.get('/health').expect(200);

    await t.http
      .patch('/admin/settings')
      .set('Authorization', adminAuth())
      .send({ apiEnabled: true })
      .expect(200);
    await t.http.get('/odata/v1').set('Authorization', auth).expect(200);
  });

  it('applies a change made on one instance to the next request on another', async () => {
    const other = await createTestApp({}, t.db);
    try {
      const user = await createApiUser(t);
      const auth = basic(user.publicKey, user.secretKey);
      await other.http.get('/odata/v1').set('Authorization', auth).expect(200);
      await t.http
        .patch('/admin/settings')
        .set('Authorization', adminAuth())
        .send({ apiEnabled: false })
        .expect(200);
      const response = await other.http.get('/odata/v1').set('Authorization', auth).expect(401);
      expect(response.headers['smartstore-api-authresultdesc']).toBe('ApiDisabled');
    } finally {
      await t.http
        .patch('/admin/settings')
        .set('Authorization', adminAuth())
        .send({ apiEnabled: true });
      await other.close();
    }
  });
});
