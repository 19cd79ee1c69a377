import { createServer } from 'node:net';
import { basic, createApiUser, createTestApp, TestApp } from './support/test-app';
import { fail, get } from './support/lockouts';

/**
 * REDIS_URL names a Redis that does not answer at start: Gatehouse starts anyway, serves
 * requests at once, and counts failed attempts in its own memory (README, "Invalid attempts").
 */

/** A port nothing listens on: bound, then closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('REDIS_URL unreachable at start', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      REDIS_URL: `redis://127.0.0.1:${await closedPort()}/5`,
      TRUST_PROXY: '127.0.0.1,::1',
      AUTH_LOCKOUT_ATTEMPTS: '3',
      AUTH_LOCKOUT_DURATION_SECONDS: '60',
      AUTH_IP_BAN_ATTEMPTS: '100',
    });
  });
  afterAll(() => t?.close());

  it('starts and serves an authenticated request', async () => {
    const user = await createApiUser(t);
    const response = await get(t, basic(user.publicKey, user.secretKey), '10.9.0.1');
    expect(response.status).toBe(200);
  });

  it('counts wrong secrets in memory and locks the key', async () => {
    const user = await createApiUser(t);
    await fail(t, user.publicKey, '10.9.0.2', 3);
    const response = await get(t, basic(user.publicKey, user.secretKey), '10.9.0.2');
    expect(response.status).toBe(429);
    expect(response.headers['smartstore-api-authresultid']).toBe('6');
  });
});
