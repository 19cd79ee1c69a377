import fc from 'fast-check';
import { adminAuth, createApiUser, createTestApp, TestApp } from './support/test-app';

/**
 * Property-based tests over what the network sends: whatever the Authorization header or the
 * admin request body, the answer is a 2xx or a 4xx with the error body, never a 5xx.
 */
describe('hostile input (fast-check)', () => {
  let t: TestApp;
  let userId: string;
  beforeAll(async () => {
    t = await createTestApp({ AUTH_LOCKOUT_ATTEMPTS: '0', AUTH_IP_BAN_ATTEMPTS: '0' });
    userId = (await createApiUser(t)).id;
  });
  afterAll(() => t.close());

  /** Characters Node lets a client put in a header value (visible Latin-1, space and tab). */
  const headerText = fc.string({
    unit: fc.oneof(
      fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
      fc.integer({ min: 0xa0, max: 0xff }).map((c) => String.fromCharCode(c)),
      fc.constant('\t'),
    ),
    maxLength: 300,
  });
  const authorization = fc.oneof(
    headerText,
    headerText.map((s) => `Basic ${s}`),
    fc.string().map((s) => `Basic ${Buffer.from(s).toString('base64')}`),
    fc
      .tuple(fc.string(), fc.string())
      .map(([k, s]) => `basic ${Buffer.from(`${k}:${s}`, 'latin1').toString('base64')}`),
  );

  it('answers any Authorization header with a 4xx, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(authorization, async (header) => {
        const response = await t.http.get('/odata/v1').set('Authorization', header);
        expect(response.status).toBeGreaterThanOrEqual(400);
        expect(response.status).toBeLessThan(500);
        expect(response.body.error.code).toEqual(expect.any(String));
      }),
      { numRuns: 150 },
    );
  });

  const jsonValue = fc.jsonValue({ maxDepth: 3 });
  const userBody = fc.oneof(
    jsonValue,
    fc.record(
      {
        name: fc.oneof(fc.string({ maxLength: 250 }), jsonValue),
        roles: fc.oneof(fc.array(fc.constantFrom('read', 'write', 'admin', 'root', '')), jsonValue),
        publicKey: fc.oneof(fc.string({ maxLength: 140 }), jsonValue),
        secretKey: fc.oneof(fc.string({ maxLength: 1100 }), jsonValue),
        enabled: fc.oneof(fc.boolean(), jsonValue),
      },
      { requiredKeys: [] },
    ),
  );

  it('answers any POST /admin/api-users body with 201 or a 4xx, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(userBody, async (body) => {
        const response = await t.http
          .post('/admin/api-users')
          .set('Authorization', adminAuth())
          .set('Content-Type', 'application/json')
          .send(JSON.stringify(body));
        expect([201, 400, 409]).toContain(response.status);
        if (response.status !== 201) expect(response.body.error.code).toEqual(expect.any(String));
      }),
      { numRuns: 150 },
    );
  });

  it('answers any PATCH /admin/api-users/{id} body with 200 or a 4xx, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(userBody, async (body) => {
        const response = await t.http
          .patch(`/admin/api-users/${userId}`)
          .set('Authorization', adminAuth())
          .set('Content-Type', 'application/json')
          .send(JSON.stringify(body));
        expect([200, 400, 409]).toContain(response.status);
      }),
      { numRuns: 150 },
    );
  });

  it('answers any PATCH /admin/settings body with 200 or 400, never a 5xx', async () => {
    const settingsBody = fc.oneof(
      jsonValue,
      fc.record(
        { apiEnabled: jsonValue, maxTop: fc.oneof(fc.integer(), jsonValue) },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(settingsBody, async (body) => {
        const response = await t.http
          .patch('/admin/settings')
          .set('Authorization', adminAuth())
          .set('Content-Type', 'application/json')
          .send(JSON.stringify(body));
        expect([200, 400]).toContain(response.status);
      }),
      { numRuns: 150 },
    );
    // Whatever was accepted, the API must be usable again for the other tests.
    await t.http
      .patch('/admin/settings')
      .set('Authorization', adminAuth())
      .send({ apiEnabled: true, maxTop: 120 })
      .expect(200);
  });
});
