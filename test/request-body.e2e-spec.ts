import request from 'supertest';
import { fail } from './support/lockouts';
import { createTestDatabase, TestDatabase } from './support/test-database';
import {
  adminAuth,
  basic,
  createApiUser,
  createTestApp,
  TestApp,
  withApp,
} from './support/test-app';

/**
 * A body that cannot be parsed is answered after authentication, the role check and the rate
 * limit, not before them as Fastify did (a client without credentials got 400 BadRequest
 * instead of its challenge; found by review). Only a body over the limit is refused first.
 */

const BROKEN_JSON = '{"name": ';

/** POSTs `body` as `contentType` to `path` (raw: supertest would re-serialize JSON). */
function post(
  t: TestApp,
  path: string,
  contentType: string,
  body: string | Buffer,
  authorization?: string,
): request.Test {
  const req = t.http
    .post(path)
    .set('Content-Type', contentType)
    .serialize((raw: unknown) => raw as string);
  if (authorization !== undefined) req.set('Authorization', authorization);
  return req.send(body as unknown as string);
}

function expectReason(response: request.Response, status: number, id: number) {
  expect({
    status: response.status,
    id: response.headers['smartstore-api-authresultid'],
    code: (response.body as { error?: { code?: string } }).error?.code,
  }).toMatchObject({ status, id: String(id) });
}

describe('bodies that cannot be parsed are answered after authentication', () => {
  let db: TestDatabase;
  let t: TestApp;
  beforeAll(async () => {
    db = await createTestDatabase();
    t = await createTestApp({}, db);
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  const unreadable: [string, string, string | Buffer][] = [
    ['broken JSON', 'application/json', BROKEN_JSON],
    ['bytes that are not UTF-8', 'application/json', Buffer.from([0x7b, 0xfc, 0x7d])],
    ['JSON in another charset', 'application/json; charset=ISO-8859-1', '{}'],
    ['another media type', 'text/plain', 'name=x'],
    ['a media type Fastify has no parser for', 'application/xml', '<name/>'],
  ];

  it.each(unreadable)('%s without credentials: 401 with the challenge (reason 2)', async (...c) => {
    const [, contentType, body] = c;
    const response = await post(t, '/odata/v1/Customers', contentType, body);
    expectReason(response, 401, 2);
    expect(response.headers['www-authenticate']).toBe(
      'Basic realm="Smartstore.WebApi", charset="UTF-8"',
    );
    expect(response.body.error.code).toBe('InvalidAuthorizationHeader');
  });

  it('broken JSON with a wrong secret or an unknown key: reasons 3 and 4', async () => {
    const user = await createApiUser(t);
    const wrong = basic(user.publicKey, 'not-the-secret-0123456789');
    expectReason(await post(t, '/admin/api-users', 'application/json', BROKEN_JSON, wrong), 401, 3);
    const unknown = basic('no-such-key-0123', 'not-the-secret-0123456789');
    expectReason(await post(t, '/odata/v1/Products', 'text/plain', 'x', unknown), 401, 4);
  });

  it('broken JSON from a user without the role: 403, the role check comes first', async () => {
    const reader = await createApiUser(t, { roles: ['read'] });
    const response = await post(
      t,
      '/odata/v1/Customers',
      'application/json',
      BROKEN_JSON,
      basic(reader.publicKey, reader.secretKey),
    ).expect(403);
    expect(response.body.error.code).toBe('Forbidden');
  });

  it('an authenticated, authorised request gets the body error as before', async () => {
    const broken = await post(t, '/admin/api-users', 'application/json', BROKEN_JSON, adminAuth());
    expect([broken.status, broken.body.error.code]).toEqual([400, 'BadRequest']);
    expect(broken.headers['smartstore-api-authresultid']).toBeUndefined();
    const latin1 = Buffer.concat([
      Buffer.from('{"name":"M'),
      Buffer.from([0xfc]),
      Buffer.from('"}'),
    ]);
    const notUtf8 = await post(t, '/admin/api-users', 'application/json', latin1, adminAuth());
    expect([notUtf8.status, notUtf8.body.error]).toEqual([
      400,
      { code: 'BadRequest', message: 'The request body is not valid UTF-8.' },
    ]);
    for (const contentType of ['text/plain', 'application/json; charset=latin1']) {
      const refused = await post(t, '/admin/api-users', contentType, '{}', adminAuth());
      expect([refused.status, refused.body.error.code]).toEqual([415, 'UnsupportedMediaType']);
    }
    const writer = await createApiUser(t, { roles: ['write'] });
    const odata = await post(
      t,
      '/odata/v1/Customers',
      'text/plain',
      'x',
      basic(writer.publicKey, writer.secretKey),
    );
    expect([odata.status, odata.body.error.code]).toEqual([415, 'UnsupportedMediaType']);
    expect(odata.headers['odata-version']).toBe('4.0');
    // Nothing was created by any of them.
    const rows = await db.query<{ count: string }>(
      `SELECT count(*) FROM api_users WHERE name IN ('M', 'x')`,
    );
    expect(rows[0].count).toBe('0');
  });

  it('a body over 1 MiB, or a Content-Type that is no media type, is refused before authentication', async () => {
    const big = `{"name":"${'x'.repeat(1024 * 1024)}"}`;
    const response = await post(t, '/admin/api-users', 'application/json', big);
    expect([response.status, response.body.error.code]).toEqual([413, 'PayloadTooLarge']);
    const noMediaType = await post(t, '/admin/api-users', 'json', '{}');
    expect([noMediaType.status, noMediaType.body.error.code]).toEqual([
      415,
      'UnsupportedMediaType',
    ]);
  });

  it('while the API is switched off: 401 ApiDisabled, not the body error', async () => {
    const writer = await createApiUser(t, { roles: ['write'] });
    await t.http
      .patch('/admin/settings')
      .set('Authorization', adminAuth())
      .send({ apiEnabled: false })
      .expect(200);
    try {
      const auth = basic(writer.publicKey, writer.secretKey);
      expectReason(await post(t, '/odata/v1/Customers', 'text/plain', 'x', auth), 401, 0);
      expectReason(await post(t, '/odata/v1/Customers', 'application/json', BROKEN_JSON), 401, 0);
    } finally {
      await t.http
        .patch('/admin/settings')
        .set('Authorization', adminAuth())
        .send({ apiEnabled: true })
        .expect(200);
    }
  });

  it('NODE_ENV=production over plain HTTP: 421, not the body error', () =>
    withApp(db, { NODE_ENV: 'production' }, async (production) => {
      const response = await post(production, '/admin/api-users', 'text/plain', 'x', adminAuth());
      expect([response.status, response.headers['smartstore-api-authresultid']]).toEqual([
        421,
        '1',
      ]);
    }));

  it('from a banned client address: 429 ClientBlocked, not the body error', () =>
    withApp(db, { TRUST_PROXY: '127.0.0.1,::1', AUTH_IP_BAN_ATTEMPTS: '2' }, async (banning) => {
      const address = '10.77.0.1';
      await fail(banning, 'no-such-key-0123', address, 2);
      const response = await post(banning, '/admin/api-users', 'application/json', BROKEN_JSON)
        .set('X-Forwarded-For', address)
        .set('Authorization', adminAuth());
      expectReason(response, 429, 7);
    }));

  it('over its rate limit: 429 before the body error', async () => {
    const limited = await createApiUser(t, {
      roles: ['write'],
      rateLimit: { requests: 1, windowSeconds: 60 },
    });
    const auth = basic(limited.publicKey, limited.secretKey);
    const first = await post(t, '/odata/v1/Customers', 'text/plain', 'x', auth);
    expect(first.status).toBe(415);
    const second = await post(t, '/odata/v1/Customers', 'text/plain', 'x', auth);
    expect([second.status, second.body.error.code]).toEqual([429, 'RateLimitExceeded']);
  });
});
