import pg from 'pg';
import { HEALTH_TIMEOUT_MS } from '../src/health/database-probe.service';
import { startFreezableProxy } from './support/freezable-proxy';
import { adminAuth, createTestApp, TestApp } from './support/test-app';
import { eventually } from './support/eventually';

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

  it("reports the database up while every connection of the app's pool is busy", async () => {
    const locker = new pg.Client({ connectionString: t.db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE customers IN ACCESS EXCLUSIVE MODE');
      // More waiting requests than the pool (10) has connections.
      const waiting = Array.from({ length: 12 }, () =>
        t.http.get('/odata/v1/Customers?$top=1').set('Authorization', adminAuth()),
      );
      const settled = Promise.allSettled(waiting.map((request) => request.then()));
      await eventually(async () => {
        const [{ n }] = await t.db.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`,
        );
        expect(Number(n)).toBeGreaterThanOrEqual(10);
      });
      // Was 503 "down" after 2 s: SELECT 1 waited for a pooled connection.
      const response = await t.http.get('/health').timeout(HEALTH_TIMEOUT_MS + 3000);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ status: 'ok', database: 'up' });
      await locker.query('COMMIT');
      await settled;
    } finally {
      await locker.end();
    }
  });

  it('holds at most one connection however many checks come at once', async () => {
    const answers = await Promise.all(Array.from({ length: 30 }, () => t.http.get('/health')));
    expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 200));
    const [{ n }] = await t.db.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'gatehouse-health' AND datname = current_database()`,
    );
    expect(Number(n)).toBe(1);
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
