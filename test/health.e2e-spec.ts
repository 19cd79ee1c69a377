import { HEALTH_TIMEOUT_MS } from '../src/health/health.controller';
import { startFreezableProxy } from './support/freezable-proxy';
import { createTestApp, TestApp } from './support/test-app';

describe('GET /health', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('answers without credentials and reports the database up', async () => {
    const response = await t.http.get('/health').expect(200);
    expect(response.body).toEqual({ status: 'ok', database: 'up' });
  });
});

describe('GET /health when the database stops answering', () => {
  it(`answers 503 within ${HEALTH_TIMEOUT_MS} ms rather than waiting for the connection`, async () => {
    const t = await createTestApp();
    const proxy = await startFreezableProxy(t.db.url);
    const behindProxy = await createTestApp({ DATABASE_URL: proxy.url }, t.db);
    try {
      await behindProxy.http.get('/health').expect(200);
      proxy.freeze();
      // Without the timeout this waited for minutes (found by review: no answer after 90 s).
      const response = await behindProxy.http.get('/health').timeout(HEALTH_TIMEOUT_MS + 3000);
      expect(response.status).toBe(503);
      expect(response.body).toMatchObject({ status: 'error', database: 'down' });
    } finally {
      await proxy.close();
      await behindProxy.close().catch(() => undefined);
      await t.close();
    }
  });
});
