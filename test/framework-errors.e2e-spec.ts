import http from 'node:http';
import { adminAuth, basic, createTestApp, TestApp } from './support/test-app';

/**
 * What Fastify and Node refuse before a route is reached, and so before the exception filter:
 * the same error shape as every other answer (CONTRACT.md 4). Fastify answered these with a
 * body of its own (`{"statusCode","code","error","message"}`), found by review.
 */

/** A request on a connection of its own, read whole: status, headers and parsed body. */
function rawGet(
  t: TestApp,
  path: string,
  headers: http.OutgoingHttpHeaders = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: unknown }> {
  const { port } = t.app.getHttpServer().address() as { port: number };
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
        }),
      );
    });
    request.on('error', reject);
  });
}

const shaped = (code: string) => ({ error: { code, message: expect.any(String) } });

describe('answers from below the routes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen(0, '127.0.0.1');
  });
  afterAll(() => t.close());

  it('400 BadRequest for a path that is not valid percent-encoded UTF-8', async () => {
    const response = await rawGet(t, '/odata/v1/Customers%FF');
    expect(response.status).toBe(400);
    expect(response.body).toEqual(shaped('BadRequest'));
    expect(response.headers['odata-version']).toBe('4.0');
    expect((await rawGet(t, '/admin/api-users/%E0%A4%A')).body).toEqual(shaped('BadRequest'));
  });

  it('414 URITooLong for a path segment longer than the router reads', async () => {
    const response = await rawGet(t, `/odata/v1/${'a'.repeat(101)}`);
    expect(response.status).toBe(414);
    expect(response.body).toEqual(shaped('URITooLong'));
  });

  it('uses the first of several Authorization headers: Node drops the others', async () => {
    const wrong = basic('e2e-admin-public-key', 'not-the-secret-0000');
    // An array value sends one header line per element.
    const first = await rawGet(t, '/admin/settings', { Authorization: [adminAuth(), wrong] });
    expect(first.status).toBe(200);
    const second = await rawGet(t, '/admin/settings', { Authorization: [wrong, adminAuth()] });
    expect(second.status).toBe(401);
    expect(second.headers['smartstore-api-authresultid']).toBe('3');
  });

  it('431 RequestHeaderFieldsTooLarge for headers over 16 KB, before authentication', async () => {
    const response = await rawGet(t, '/odata/v1', {
      Authorization: `Basic ${'a'.repeat(20_000)}`,
    });
    expect(response.status).toBe(431);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.body).toEqual(shaped('RequestHeaderFieldsTooLarge'));
  });
});
