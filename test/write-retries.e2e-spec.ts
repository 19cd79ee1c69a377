import { AuditService } from '../src/audit/audit.service';
import { UsageService } from '../src/usage/usage.service';
import { FreezableProxy, startFreezableProxy } from './support/freezable-proxy';
import { basic, createApiUser, createTestApp, TestApp } from './support/test-app';
import { createTestDatabase, TestDatabase } from './support/test-database';
import { eventually } from './support/eventually';

/**
 * The client's query timeout (15 s in the app) fires while the server still has the statement:
 * pg reports an error, and the statement commits once the server goes on. The write's outcome
 * is unknown, so the batched writes retry the batch as it was, and a retry of a batch that
 * committed must change nothing (found by review: usage counted twice, audit events stored
 * twice, after the database stalled for longer than the timeout).
 */
const QUERY_TIMEOUT_MS = 1000;

type User = Awaited<ReturnType<typeof createApiUser>>;

describe('batched writes retried after the client gave up waiting for their answer', () => {
  let db: TestDatabase;
  let proxy: FreezableProxy;
  /** The instance under test: its pool (and change feed) reach PostgreSQL through the proxy. */
  let t: TestApp;
  let usage: UsageService;
  let audit: AuditService;

  beforeAll(async () => {
    db = await createTestDatabase();
    proxy = await startFreezableProxy(db.url);
    t = await createTestApp({ DATABASE_URL: proxy.url }, db, { queryTimeoutMs: QUERY_TIMEOUT_MS });
    usage = t.app.get(UsageService);
    audit = t.app.get(AuditService);
  });
  afterAll(async () => {
    proxy.thaw();
    await t.close();
    await proxy.close();
    await db.drop();
  });

  /** A user whose every request is counted, and refused with 429 past `requests`. */
  const limitedUser = (requests: number) =>
    createApiUser(t, { roles: ['read'], rateLimit: { requests, windowSeconds: 3600 } });

  async function get(user: User, times: number, status: number): Promise<void> {
    for (let i = 0; i < times; i++) {
      await t.http
        .get('/odata/v1')
        .set('Authorization', basic(user.publicKey, user.secretKey))
        .expect(status);
    }
  }

  /** What `api_usage` holds for the user, read directly (not through the instance). */
  async function storedUsage(user: User): Promise<number> {
    const rows = await db.query<{ requests: string }>(
      'SELECT coalesce(sum(requests), 0) AS requests FROM api_usage WHERE api_user_id = $1',
      [user.id],
    );
    return Number(rows[0].requests);
  }

  async function storedDenials(user: User): Promise<{ events: number; times: number }> {
    const rows = await db.query<{ events: number; times: number }>(
      `SELECT count(*)::int AS events, count(DISTINCT occurred_at)::int AS times
         FROM audit_events WHERE public_key = $1 AND reason = 'RateLimitExceeded'`,
      [user.publicKey],
    );
    return rows[0];
  }

  /**
   * Runs `flushes` with the server frozen past the client's query timeout (each write is sent,
   * and the client gives up on it), then lets the server go on.
   */
  async function flushTimedOut(flushes: () => Promise<unknown>): Promise<void> {
    proxy.freeze();
    try {
      const started = Date.now();
      await flushes();
      expect(Date.now() - started).toBeGreaterThanOrEqual(QUERY_TIMEOUT_MS - 50);
    } finally {
      proxy.thaw();
    }
  }

  it('counts usage once when a write that timed out on the client did commit', async () => {
    const user = await limitedUser(1000);
    await get(user, 10, 200);
    await flushTimedOut(() => usage.flush());
    // The write the client gave up on commits once the server goes on.
    await eventually(async () => expect(await storedUsage(user)).toBe(10));

    await usage.flush(); // the retry
    expect(await storedUsage(user)).toBe(10);

    // Later counts go on being written.
    await get(user, 3, 200);
    await usage.flush();
    expect(await storedUsage(user)).toBe(13);
  }, 20_000);

  it('stores audit events once when a write that timed out on the client did commit', async () => {
    const user = await limitedUser(1);
    await get(user, 1, 200);
    await get(user, 4, 429);
    await flushTimedOut(() => audit.flush());
    await eventually(async () =>
      expect(await storedDenials(user)).toEqual({ events: 4, times: 4 }),
    );

    await audit.flush();
    expect(await storedDenials(user)).toEqual({ events: 4, times: 4 });

    await get(user, 2, 429);
    await audit.flush();
    expect(await storedDenials(user)).toEqual({ events: 6, times: 6 });
  }, 20_000);

  it('forgets the ids of batches applied more than a day ago, in the writes themselves', async () => {
    await db.query(
      `INSERT INTO applied_write_batches (id, applied_at)
       VALUES ('00000000-0000-4000-8000-000000000001', now() - interval '25 hours'),
              ('00000000-0000-4000-8000-000000000002', now() - interval '23 hours')`,
    );
    const user = await limitedUser(1000);
    await get(user, 1, 200);
    await usage.flush();
    const ids = await db.query<{ id: string }>('SELECT id FROM applied_write_batches');
    expect(ids.map((r) => r.id)).not.toContain('00000000-0000-4000-8000-000000000001');
    expect(ids.map((r) => r.id)).toContain('00000000-0000-4000-8000-000000000002');
  });

  it('writes once when the retry too is sent while the server is still frozen', async () => {
    const user = await limitedUser(3);
    await get(user, 3, 200);
    await get(user, 2, 429);
    // Both attempts of each write reach the server only when it goes on, one after the other.
    await flushTimedOut(async () => {
      await Promise.all([usage.flush(), audit.flush()]);
      await Promise.all([usage.flush(), audit.flush()]);
    });
    await usage.flush();
    await audit.flush();
    await eventually(async () => {
      expect(await storedUsage(user)).toBe(3);
      expect(await storedDenials(user)).toEqual({ events: 2, times: 2 });
    });
    // Nothing committed late is left to add itself.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await storedUsage(user)).toBe(3);
    expect(await storedDenials(user)).toEqual({ events: 2, times: 2 });
  }, 20_000);
});
