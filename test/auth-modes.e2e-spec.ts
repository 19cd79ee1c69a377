import { seedDemo } from './support/odata';
import { basic, createApiUser, disableApiUser, withApp } from './support/test-app';
import { createTestDatabase, TestDatabase } from './support/test-database';

/** One database for the file; each app below is a differently configured instance on it. */
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

describe('AUTH_RESPONSE_MODE=mashery', () => {
  it('answers a missing or non-Basic header with 401 and the challenge', () =>
    withApp(db, { AUTH_RESPONSE_MODE: 'mashery', AUTH_REALM: 'Mashery' }, async (t) => {
      for (const header of [undefined, 'Bearer token']) {
        const req = t.http.get('/odata/v1');
        if (header) req.set('Authorization', header);
        const response = await req.expect(401);
        expect(response.headers['www-authenticate']).toBe('Basic realm="Mashery", charset="UTF-8"');
        expect(response.headers['smartstore-api-authresultid']).toBe('2');
        expect(response.headers['x-mashery-error-code']).toBeUndefined();
      }
    }));

  it('answers them with 403 and no challenge when KEEP_MASHERY_DEFAULT_RESPONSE_CODE=true', () =>
    withApp(
      db,
      { AUTH_RESPONSE_MODE: 'mashery', KEEP_MASHERY_DEFAULT_RESPONSE_CODE: 'true' },
      async (t) => {
        const response = await t.http.get('/odata/v1').expect(403);
        expect(response.headers['www-authenticate']).toBeUndefined();
        expect(response.headers['smartstore-api-authresultdesc']).toBe(
          'InvalidAuthorizationHeader',
        );
        expect(response.body.error.code).toBe('InvalidAuthorizationHeader');
      },
    ));

  it('answers malformed headers, unknown, disabled and wrong credentials with 403 ERR_403_NOT_AUTHORIZED', () =>
    withApp(db, { AUTH_RESPONSE_MODE: 'mashery' }, async (t) => {
      const user = await createApiUser(t);
      const disabled = await createApiUser(t);
      await disableApiUser(t, disabled.id);
      const cases: [string, number, string][] = [
        ['Basic !!!', 2, 'InvalidAuthorizationHeader'],
        [basic('unknown-public-key', 'some-secret-value'), 4, 'UserUnknown'],
        [basic(disabled.publicKey, disabled.secretKey), 5, 'UserDisabled'],
        [basic(user.publicKey, 'wrong-secret-value-123'), 3, 'InvalidCredentials'],
      ];
      for (const [header, id, desc] of cases) {
        const response = await t.http.get('/odata/v1').set('Authorization', header).expect(403);
        expect(response.headers['x-mashery-error-code']).toBe('ERR_403_NOT_AUTHORIZED');
        expect(response.headers['www-authenticate']).toBeUndefined();
        expect(response.headers['smartstore-api-authresultid']).toBe(String(id));
        expect(response.headers['smartstore-api-authresultdesc']).toBe(desc);
      }
      await t.http
        .get('/odata/v1')
        .set('Authorization', basic(user.publicKey, user.secretKey))
        .expect(200);
    }));
});

describe('AUTH_CONCEAL_REASONS=true', () => {
  it('reports unknown key, disabled user and wrong secret all as reason 3', () =>
    withApp(db, { AUTH_CONCEAL_REASONS: 'true' }, async (t) => {
      const user = await createApiUser(t);
      const disabled = await createApiUser(t);
      await disableApiUser(t, disabled.id);
      const answers = [];
      for (const header of [
        basic('unknown-public-key', 'some-secret-value'),
        basic(disabled.publicKey, disabled.secretKey),
        basic(user.publicKey, 'wrong-secret-value-123'),
      ]) {
        const response = await t.http.get('/odata/v1').set('Authorization', header).expect(401);
        answers.push({ headers: pickAuthHeaders(response.headers), body: response.body });
      }
      expect(answers[0].headers).toEqual({
        'smartstore-api-authresultid': '3',
        'smartstore-api-authresultdesc': 'InvalidCredentials',
        'www-authenticate': 'Basic realm="Smartstore.WebApi", charset="UTF-8"',
      });
      expect(answers[1]).toEqual(answers[0]);
      expect(answers[2]).toEqual(answers[0]);
    }));

  it('still reports a malformed header as reason 2', () =>
    withApp(db, { AUTH_CONCEAL_REASONS: 'true' }, async (t) => {
      const response = await t.http.get('/odata/v1').expect(401);
      expect(response.headers['smartstore-api-authresultid']).toBe('2');
    }));
});

describe('NODE_ENV=production (reason 1, SslRequired)', () => {
  let user: Awaited<ReturnType<typeof createApiUser>>;
  beforeAll(() =>
    withApp(db, {}, async (t) => {
      user = await createApiUser(t);
    }),
  );

  it('answers a cleartext request with 421 and no challenge, before looking at credentials', () =>
    withApp(db, { NODE_ENV: 'production' }, async (t) => {
      const response = await t.http
        .get('/odata/v1')
        .set('Authorization', basic(user.publicKey, user.secretKey))
        .expect(421);
      expect(response.headers['smartstore-api-authresultid']).toBe('1');
      expect(response.headers['smartstore-api-authresultdesc']).toBe('SslRequired');
      expect(response.headers['www-authenticate']).toBeUndefined();
      expect(response.body.error.code).toBe('SslRequired');
      // X-Forwarded-Proto is not believed without TRUST_PROXY.
      await t.http
        .get('/odata/v1')
        .set('X-Forwarded-Proto', 'https')
        .set('Authorization', basic(user.publicKey, user.secretKey))
        .expect(421);
      await t.http.get('/health').expect(200);
    }));

  it('believes X-Forwarded-Proto from a proxy that TRUST_PROXY names', () =>
    withApp(db, { NODE_ENV: 'production', TRUST_PROXY: '127.0.0.1,::1' }, async (t) => {
      const auth = basic(user.publicKey, user.secretKey);
      await t.http
        .get('/odata/v1')
        .set('X-Forwarded-Proto', 'https')
        .set('Authorization', auth)
        .expect(200);
      await t.http
        .get('/odata/v1')
        .set('X-Forwarded-Proto', 'http')
        .set('Authorization', auth)
        .expect(421);
      await t.http.get('/odata/v1').set('Authorization', auth).expect(421);
    }));

  it('takes the scheme in X-Forwarded-Proto in any case (RFC 3986: schemes are case-insensitive)', () =>
    withApp(db, { NODE_ENV: 'production', TRUST_PROXY: '127.0.0.1,::1' }, async (t) => {
      const auth = basic(user.publicKey, user.secretKey);
      for (const [proto, status] of [
        ['HTTPS', 200],
        ['Https', 200],
        ['HTTP', 421],
      ] as const) {
        await t.http
          .get('/odata/v1')
          .set('X-Forwarded-Proto', proto)
          .set('Authorization', auth)
          .expect(status);
      }
    }));

  it('writes its URLs with the scheme in lower case, and takes its own back in any case', () =>
    withApp(db, { NODE_ENV: 'production', TRUST_PROXY: '127.0.0.1,::1' }, async (t) => {
      // HTTPS from the proxy went into every URL the answer wrote (found by review).
      await seedDemo(t);
      const auth = basic(user.publicKey, user.secretKey);
      const page = await t.http
        .get('/odata/v1/Customers?$top=1')
        .set('X-Forwarded-Proto', 'HTTPS')
        .set('Authorization', auth)
        .expect(200);
      expect(page.body['@odata.context']).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/odata\/v1\//);
      const paged = await t.http
        .get('/odata/v1/Customers')
        .set('X-Forwarded-Proto', 'HTTPS')
        .set('Authorization', auth)
        .expect(200);
      expect(paged.body['@odata.nextLink']).toMatch(/^https:\/\//);
      const customerUrl = page.body['@odata.context'].replace(
        /\$metadata#Customers$/,
        `Customers(${page.body.value[0].Id})`,
      );
      const created = await t.http
        .post('/odata/v1/Orders')
        .set('X-Forwarded-Proto', 'HTTPS')
        .set('Authorization', auth)
        .send({
          OrderNumber: `SCHEME-${Date.now()}`,
          OrderTotal: 1,
          OrderStatus: 'Pending',
          'Customer@odata.bind': customerUrl.replace(/^https/, 'HTTPS'),
        })
        .expect(201);
      expect(created.headers.location).toMatch(/^https:\/\//);
      expect(created.body.CustomerId).toBe(page.body.value[0].Id);
    }));

  it('does not believe a proxy outside TRUST_PROXY', () =>
    withApp(db, { NODE_ENV: 'production', TRUST_PROXY: '10.1.2.3' }, async (t) => {
      await t.http
        .get('/odata/v1')
        .set('X-Forwarded-Proto', 'https')
        .set('Authorization', basic(user.publicKey, user.secretKey))
        .expect(421);
    }));
});

function pickAuthHeaders(headers: Record<string, string>): Record<string, string> {
  const names = [
    'smartstore-api-authresultid',
    'smartstore-api-authresultdesc',
    'www-authenticate',
  ];
  return Object.fromEntries(names.filter((n) => n in headers).map((n) => [n, headers[n]]));
}
