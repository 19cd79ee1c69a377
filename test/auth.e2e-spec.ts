import {
  adminAuth,
  basic,
  createApiUser,
  createTestApp,
  disableApiUser,
  TestApp,
} from './support/test-app';

const REALM_CHALLENGE = 'Basic realm="Smartstore.WebApi", charset="UTF-8"';

function expectDenial(
  response: { status: number; headers: Record<string, string>; body: unknown },
  status: number,
  id: number,
  desc: string,
): void {
  expect(response.status).toBe(status);
  expect(response.headers['smartstore-api-authresultid']).toBe(String(id));
  expect(response.headers['smartstore-api-authresultdesc']).toBe(desc);
  expect(response.body).toEqual({ error: { code: desc, message: expect.any(String) } });
}

describe('HTTP Basic authentication (Smartstore mode)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('lets a valid key through Passport on Fastify and serves the OData service document', async () => {
    const user = await createApiUser(t, { roles: ['read'] });
    const response = await t.http
      .get('/odata/v1')
      .set('Authorization', basic(user.publicKey, user.secretKey))
      .expect(200);
    expect(response.headers['odata-version']).toBe('4.0');
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.body).toEqual({
      '@odata.context': expect.stringMatching(/\/odata\/v1\/\$metadata$/),
      value: expect.arrayContaining([{ name: 'Customers', kind: 'EntitySet', url: 'Customers' }]),
    });
  });

  describe('reason 2, InvalidAuthorizationHeader', () => {
    const cases: [string, string | undefined][] = [
      ['a missing header', undefined],
      ['another scheme', 'Bearer abc.def.ghi'],
      ['a scheme that only contains "Basic"', `XBasicY ${Buffer.from('a:b').toString('base64')}`],
      ['no credentials', 'Basic'],
      ['invalid base64', 'Basic !!!notbase64!!!'],
      ['no colon', `Basic ${Buffer.from('justakey').toString('base64')}`],
      ['an empty public key', `Basic ${Buffer.from(':secret').toString('base64')}`],
      ['an empty secret', `Basic ${Buffer.from('key:').toString('base64')}`],
      [
        'bytes that are not UTF-8',
        `Basic ${Buffer.from([0x6b, 0x3a, 0xff, 0xfe]).toString('base64')}`,
      ],
      ['an absurdly long header', `Basic ${'QUFB'.repeat(2000)}`],
    ];
    it.each(cases)('answers %s with 401, the headers and the challenge', async (_, header) => {
      const req = t.http.get('/odata/v1');
      if (header !== undefined) req.set('Authorization', header);
      const response = await req;
      expectDenial(response, 401, 2, 'InvalidAuthorizationHeader');
      expect(response.headers['www-authenticate']).toBe(REALM_CHALLENGE);
    });
  });

  it('answers an unknown public key with reason 4, UserUnknown', async () => {
    const response = await t.http
      .get('/odata/v1')
      .set('Authorization', basic('no-such-public-key', 'whatever-secret-123'));
    expectDenial(response, 401, 4, 'UserUnknown');
    expect(response.headers['www-authenticate']).toBe(REALM_CHALLENGE);
  });

  it('answers a disabled user with reason 5, UserDisabled, before checking the secret', async () => {
    const user = await createApiUser(t);
    await disableApiUser(t, user.id);
    for (const secret of [user.secretKey, 'a-wrong-secret-for-this-user']) {
      const response = await t.http
        .get('/odata/v1')
        .set('Authorization', basic(user.publicKey, secret));
      expectDenial(response, 401, 5, 'UserDisabled');
    }
  });

  it('answers a wrong secret with reason 3, InvalidCredentials, and never echoes it', async () => {
    const user = await createApiUser(t);
    const wrong = `${user.secretKey.slice(0, -1)}x`;
    const response = await t.http
      .get('/odata/v1')
      .set('Authorization', basic(user.publicKey, wrong));
    expectDenial(response, 401, 3, 'InvalidCredentials');
    expect(response.headers['www-authenticate']).toBe(REALM_CHALLENGE);
    expect(JSON.stringify(response.body) + JSON.stringify(response.headers)).not.toContain(wrong);
  });

  it('accepts the scheme name in any case', async () => {
    const user = await createApiUser(t);
    const token = Buffer.from(`${user.publicKey}:${user.secretKey}`).toString('base64');
    await t.http.get('/odata/v1').set('Authorization', `bAsIc ${token}`).expect(200);
  });

  it('splits at the first colon, so a secret may contain colons (passport-http splits at every one)', async () => {
    const secret = 'imported:secret:with:colons';
    const user = await createApiUser(t, { secretKey: secret });
    await t.http.get('/odata/v1').set('Authorization', basic(user.publicKey, secret)).expect(200);
    const truncated = await t.http
      .get('/odata/v1')
      .set('Authorization', basic(user.publicKey, 'imported'));
    expectDenial(truncated, 401, 3, 'InvalidCredentials');
  });

  it('reads credentials as UTF-8', async () => {
    const secret = 'pässwörd-€-密码-secret';
    const user = await createApiUser(t, { secretKey: secret });
    await t.http.get('/odata/v1').set('Authorization', basic(user.publicKey, secret)).expect(200);
    const latin1 = `Basic ${Buffer.from(`${user.publicKey}:${secret}`, 'latin1').toString('base64')}`;
    const response = await t.http.get('/odata/v1').set('Authorization', latin1);
    expect(response.status).toBe(401);
  });

  it('imports an existing Smartstore key pair and authenticates with it', async () => {
    const publicKey = 'ea64d4a22db5bf893a4a21d5cb87f458';
    const secretKey = '3a8e5f0e3696d684de04fdAbde02f718';
    const user = await createApiUser(t, { publicKey, secretKey });
    expect(user.publicKey).toBe(publicKey);
    await t.http.get('/odata/v1').set('Authorization', basic(publicKey, secretKey)).expect(200);
  });

  describe('roles', () => {
    it('answers a user without the read role with 403, an error body and no challenge', async () => {
      const user = await createApiUser(t, { roles: ['write'] });
      const response = await t.http
        .get('/odata/v1')
        .set('Authorization', basic(user.publicKey, user.secretKey))
        .expect(403);
      expect(response.headers['www-authenticate']).toBeUndefined();
      expect(response.body).toEqual({
        error: { code: 'Forbidden', message: expect.stringContaining('read') },
      });
    });

    it('keeps non-admins out of /admin with 403', async () => {
      const user = await createApiUser(t, { roles: ['read', 'write'] });
      for (const path of ['/admin/settings', '/admin/api-users']) {
        const response = await t.http
          .get(path)
          .set('Authorization', basic(user.publicKey, user.secretKey))
          .expect(403);
        expect(response.body.error.code).toBe('Forbidden');
        expect(response.headers['www-authenticate']).toBeUndefined();
      }
    });
  });

  it('authenticates each app in one process against its own database (not passport-wide by name)', async () => {
    const user = await createApiUser(t);
    const auth = basic(user.publicKey, user.secretKey);
    const other = await createTestApp(); // a second app, on a database of its own
    try {
      const there = await other.http.get('/odata/v1').set('Authorization', auth).expect(401);
      expect(there.headers['smartstore-api-authresultdesc']).toBe('UserUnknown');
      await t.http.get('/odata/v1').set('Authorization', auth).expect(200);
    } finally {
      await other.close();
    }
    await t.http.get('/odata/v1').set('Authorization', auth).expect(200);
  });

  it('records the last request time without a write per request, and flushes it on shutdown', async () => {
    const own = await createTestApp();
    const user = await createApiUser(own);
    const before = Date.now();
    await own.http
      .get('/odata/v1')
      .set('Authorization', basic(user.publicKey, user.secretKey))
      .expect(200);

    const [row] = await own.db.query<{ last_request_at: Date | null }>(
      'SELECT last_request_at FROM api_users WHERE id = $1',
      [user.id],
    );
    expect(row.last_request_at).toBeNull(); // batched, not yet written
    const shown = await own.http
      .get(`/admin/api-users/${user.id}`)
      .set('Authorization', adminAuth());
    expect(new Date(shown.body.lastRequestAt).getTime()).toBeGreaterThanOrEqual(before - 5);

    await own.app.close(); // flushes
    const [after] = await own.db.query<{ last_request_at: Date | null }>(
      'SELECT last_request_at FROM api_users WHERE id = $1',
      [user.id],
    );
    expect(after.last_request_at).not.toBeNull();
    expect(after.last_request_at!.getTime()).toBeGreaterThanOrEqual(before - 5);
    await own.db.drop();
  });
});
