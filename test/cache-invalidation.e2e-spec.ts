import http from 'node:http';
import pg from 'pg';
import type { Response } from 'supertest';
import { ChangeFeed } from '../src/change-feed/change-feed.service';
import {
  adminAuth,
  basic,
  createApiUser,
  createTestApp,
  disableApiUser,
  TestApp,
} from './support/test-app';

/**
 * Two instances on one database, both caching credentials and settings. Every change made
 * through instance `a`'s admin API must apply to the very next request on instance `b`, whose
 * cache held the old state (each test first makes `b` cache it).
 */
describe('cache invalidation across instances', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await createTestApp();
    b = await createTestApp({}, a.db);
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  async function cachedUser(body: Record<string, unknown> = {}) {
    const user = await createApiUser(a, body);
    const auth = basic(user.publicKey, user.secretKey);
    // Twice on each instance: the second answer is the cache's.
    for (const app of [a, b, a, b]) {
      await app.http.get('/odata/v1').set('Authorization', auth).expect(200);
    }
    return { ...user, auth };
  }

  function patchUser(id: string, body: Record<string, unknown>) {
    return a.http
      .patch(`/admin/api-users/${id}`)
      .set('Authorization', adminAuth())
      .send(body)
      .expect(200);
  }

  function patchSettings(body: Record<string, unknown>) {
    return a.http.patch('/admin/settings').set('Authorization', adminAuth()).send(body).expect(200);
  }

  function expectDenial(response: Response, id: string, description: string) {
    expect(response.status).toBe(401);
    expect(response.headers['smartstore-api-authresultid']).toBe(id);
    expect(response.headers['smartstore-api-authresultdesc']).toBe(description);
  }

  it('disabling a user', async () => {
    const user = await cachedUser();
    await patchUser(user.id, { enabled: false });
    for (const app of [b, a]) {
      expectDenial(
        await app.http.get('/odata/v1').set('Authorization', user.auth),
        '5',
        'UserDisabled',
      );
    }
    await patchUser(user.id, { enabled: true });
    await b.http.get('/odata/v1').set('Authorization', user.auth).expect(200);
  });

  it('creating a user: a read under way on another instance is not shared after the 201', async () => {
    // A read that began before the creation found no such key; the requests made after the
    // admin heard "created" must read again. What keeps them from joining it is the version
    // the feed moves before it acknowledges the admin write (it stayed: 401 UserUnknown).
    const feed = b.app.get(ChangeFeed);
    const before = feed.version;
    const user = await createApiUser(a);
    expect(feed.version).toBeGreaterThan(before);
    await b.http
      .get('/odata/v1')
      .set('Authorization', basic(user.publicKey, user.secretKey))
      .expect(200);
  });

  it('deleting a user', async () => {
    const user = await cachedUser();
    await a.http
      .delete(`/admin/api-users/${user.id}`)
      .set('Authorization', adminAuth())
      .expect(204);
    for (const app of [b, a]) {
      expectDenial(
        await app.http.get('/odata/v1').set('Authorization', user.auth),
        '4',
        'UserUnknown',
      );
    }
  });

  it('rotating a secret', async () => {
    const user = await cachedUser();
    const rotated = await a.http
      .post(`/admin/api-users/${user.id}/secret`)
      .set('Authorization', adminAuth())
      .expect(200);
    for (const app of [b, a]) {
      expectDenial(
        await app.http.get('/odata/v1').set('Authorization', user.auth),
        '3',
        'InvalidCredentials',
      );
      await app.http
        .get('/odata/v1')
        .set('Authorization', basic(user.publicKey, rotated.body.secretKey))
        .expect(200);
    }
  });

  it('changing roles', async () => {
    const user = await cachedUser({ roles: ['read'] });
    await patchUser(user.id, { roles: ['write'] });
    const response = await b.http.get('/odata/v1').set('Authorization', user.auth).expect(403);
    expect(response.body.error.code).toBe('Forbidden');
  });

  it('giving a user a rate limit', async () => {
    const user = await cachedUser();
    await patchUser(user.id, { rateLimit: { requests: 5, windowSeconds: 60 } });
    const response = await b.http.get('/odata/v1').set('Authorization', user.auth).expect(200);
    expect(response.headers['ratelimit-policy']).toBe('"rate";q=5;w=60');
  });

  it('switching the API off and on', async () => {
    const user = await cachedUser();
    await patchSettings({ apiEnabled: false });
    try {
      for (const app of [b, a]) {
        expectDenial(
          await app.http.get('/odata/v1').set('Authorization', user.auth),
          '0',
          'ApiDisabled',
        );
      }
    } finally {
      await patchSettings({ apiEnabled: true });
    }
    await b.http.get('/odata/v1').set('Authorization', user.auth).expect(200);
  });

  it('changing the page size', async () => {
    const user = await cachedUser();
    await patchSettings({ maxTop: 7 });
    try {
      const response = await b.http.get('/odata/v1').set('Authorization', user.auth).expect(200);
      expect(response.headers['smartstore-api-maxtop']).toBe('7');
    } finally {
      await patchSettings({ maxTop: 120 });
    }
  });

  it('a change made in SQL, outside Gatehouse, within moments', async () => {
    const user = await cachedUser();
    await a.db.query('UPDATE api_users SET enabled = false WHERE id = $1', [user.id]);
    // No admin request waits for the notification here; it arrives within milliseconds, while
    // the safety TTL (60 s) would keep the old row for a minute.
    const deadline = Date.now() + 2000;
    let response: Response;
    do {
      response = await b.http.get('/odata/v1').set('Authorization', user.auth);
    } while (response.status === 200 && Date.now() < deadline);
    expectDenial(response, '5', 'UserDisabled');
  });

  /**
   * A client on a keep-alive connection sends the same header with every request, and each
   * connection remembers the header first recognised on it (CredentialsService.recognise).
   * Every change must still apply to its next request there. `b` listens; one socket carries
   * every request of a test, which the test checks at its end.
   */
  describe('on one keep-alive connection', () => {
    let url: string;
    let agent: http.Agent;
    let sockets: Set<unknown>;
    beforeAll(async () => {
      await b.app.listen(0, '127.0.0.1');
      url = await b.app.getUrl();
    });
    beforeEach(() => {
      agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      sockets = new Set();
    });
    afterEach(() => {
      expect(sockets.size).toBe(1);
      agent.destroy();
    });

    function get(authorization: string): Promise<{ status: number; reason?: string }> {
      return new Promise((resolve, reject) => {
        const request = http.get(`${url}/odata/v1`, { agent, headers: { authorization } });
        request.on('response', (response) => {
          sockets.add(response.socket);
          response.resume();
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              reason: response.headers['smartstore-api-authresultid'] as string | undefined,
            }),
          );
        });
        request.on('error', reject);
      });
    }

    /** Three 200s: the full check, the digest's recognition, then the connection's. */
    async function recognisedOnConnection(auth: string) {
      for (let i = 0; i < 3; i++) expect(await get(auth)).toEqual({ status: 200 });
    }

    it('disabling, enabling, changing roles and rotating apply to the next request', async () => {
      const user = await cachedUser({ roles: ['read'] });
      await recognisedOnConnection(user.auth);
      await patchUser(user.id, { enabled: false });
      expect(await get(user.auth)).toEqual({ status: 401, reason: '5' });
      await patchUser(user.id, { enabled: true });
      await recognisedOnConnection(user.auth);
      await patchUser(user.id, { roles: ['write'] });
      expect(await get(user.auth)).toEqual({ status: 403 });
      await patchUser(user.id, { roles: ['read'] });
      await recognisedOnConnection(user.auth);
      const rotated = await a.http
        .post(`/admin/api-users/${user.id}/secret`)
        .set('Authorization', adminAuth())
        .expect(200);
      expect(await get(user.auth)).toEqual({ status: 401, reason: '3' });
      await recognisedOnConnection(basic(user.publicKey, rotated.body.secretKey));
    });

    it('deleting applies to the next request', async () => {
      const user = await cachedUser();
      await recognisedOnConnection(user.auth);
      await a.http
        .delete(`/admin/api-users/${user.id}`)
        .set('Authorization', adminAuth())
        .expect(204);
      expect(await get(user.auth)).toEqual({ status: 401, reason: '4' });
    });

    it("answers each client's header as its own when clients share the connection", async () => {
      const user = await cachedUser();
      const other = await cachedUser();
      await recognisedOnConnection(user.auth);
      // The same length as the remembered header, one secret character different.
      const last = user.secretKey.slice(-1);
      const wrong = basic(user.publicKey, user.secretKey.slice(0, -1) + (last === 'a' ? 'b' : 'a'));
      expect(wrong).toHaveLength(user.auth.length);
      expect(await get(wrong)).toEqual({ status: 401, reason: '3' });
      await disableApiUser(a, other.id);
      expect(await get(other.auth)).toEqual({ status: 401, reason: '5' });
      expect(await get(user.auth)).toEqual({ status: 200 });
    });

    it('switching the API off applies to the next request', async () => {
      const user = await cachedUser();
      await recognisedOnConnection(user.auth);
      await patchSettings({ apiEnabled: false });
      try {
        expect(await get(user.auth)).toEqual({ status: 401, reason: '0' });
      } finally {
        await patchSettings({ apiEnabled: true });
      }
      expect(await get(user.auth)).toEqual({ status: 200 });
    });
  });

  /**
   * An admin write waits until every other instance has acknowledged its change (see
   * ChangeFeed.settle). A peer stands in for an instance that is slow to receive it: it listens
   * under the instances' application_name and does with each nonce what the test says
   * (by default it acknowledges it at once, as an instance does).
   */
  describe('an admin write waits for every instance', () => {
    let peer: pg.Client;
    let onNonce: (nonce: string) => Promise<void>;
    /** The peer's handling of each nonce, awaited before the peer goes (see afterEach). */
    let handling: Promise<void>[];
    const acknowledge = (nonce: string) =>
      peer
        .query(`SELECT pg_notify('gatehouse_changes', $1)`, [JSON.stringify({ ack: nonce })])
        .then(() => undefined);
    beforeEach(async () => {
      peer = new pg.Client({
        connectionString: a.db.url,
        application_name: 'gatehouse-change-feed',
      });
      await peer.connect();
      onNonce = acknowledge;
      handling = [];
      peer.on('notification', (message) => {
        const { nonce } = JSON.parse(message.payload ?? '{}') as { nonce?: string };
        if (nonce) handling.push(onNonce(nonce));
      });
      await peer.query('LISTEN gatehouse_changes');
    });
    // The instance can act on an acknowledgement before the peer's client has heard that its
    // own statement completed: ending the peer then would fail that statement.
    afterEach(async () => {
      await Promise.all(handling);
      await peer.end().catch(() => undefined);
    });

    it('answers only after a slow instance has acknowledged', async () => {
      const user = await createApiUser(a);
      const events: string[] = [];
      onNonce = async (nonce) => {
        events.push('nonce received');
        await sleep(300);
        events.push('acknowledged');
        await acknowledge(nonce);
      };
      await patchUser(user.id, { enabled: false });
      events.push('answered');
      expect(events).toEqual(['nonce received', 'acknowledged', 'answered']);
    });

    it('stops waiting for an instance that has gone', async () => {
      const user = await createApiUser(a);
      const events: string[] = [];
      let goneAt = 0;
      onNonce = async () => {
        await sleep(300);
        await peer.end();
        goneAt = performance.now();
        events.push('gone');
      };
      await patchUser(user.id, { name: 'renamed' });
      const answeredAt = performance.now();
      events.push('answered');
      expect(events).toEqual(['gone', 'answered']);
      // Well before the 2 s it waits for an instance that is there but never answers.
      expect(answeredAt - goneAt).toBeLessThan(1500);
    });

    it('waits at most 2 s for an instance that never answers', async () => {
      const user = await createApiUser(a);
      onNonce = () => Promise.resolve();
      const startedAt = performance.now();
      await patchUser(user.id, { name: 'renamed' });
      expect(performance.now() - startedAt).toBeGreaterThanOrEqual(1900);
    });
  });

  describe('what the database announces', () => {
    let listener: pg.Client;
    let payloads: unknown[];
    beforeEach(async () => {
      listener = new pg.Client({ connectionString: a.db.url });
      await listener.connect();
      payloads = [];
      listener.on('notification', (message) => payloads.push(JSON.parse(message.payload ?? '')));
      await listener.query('LISTEN gatehouse_changes');
    });
    afterEach(() => listener.end());

    /** Runs the statements, then one that announces a marker, and waits for the marker. */
    async function announcedBy(...statements: [string, unknown[]?][]): Promise<unknown[]> {
      payloads.length = 0;
      for (const [sql, params] of statements) await a.db.query(sql, params);
      // Notifications arrive in commit order: once the marker is here, the rest would be.
      await a.db.query(`SELECT pg_notify('gatehouse_changes', '{"marker":true}')`);
      const deadline = Date.now() + 2000;
      while (!payloads.some(isMarker) && Date.now() < deadline) await sleep(10);
      expect(payloads.some(isMarker)).toBe(true);
      // The instances' `settle()` round trips (after createApiUser) are not changes.
      return payloads.filter((p) => !isMarker(p) && !isSettling(p));
    }

    it('a change to what authentication reads: the keys, once per statement', async () => {
      const user = await cachedUser();
      expect(
        await announcedBy([`UPDATE api_users SET name = 'renamed' WHERE id = $1`, [user.id]]),
      ).toEqual([{ table: 'api_users', keys: [user.publicKey] }]);
    });

    it('nothing for last-request writes or new users', async () => {
      const user = await cachedUser();
      expect(
        await announcedBy(
          ['UPDATE api_users SET last_request_at = now() WHERE id = $1', [user.id]],
          [
            `INSERT INTO api_users (name, public_key, secret_hash, roles)
             VALUES ('new', 'a-brand-new-public-key', 'x', '{read}')`,
          ],
        ),
      ).toEqual([]);
    });

    it('one "every key" announcement for a bulk change too large to list', async () => {
      await a.db.query(
        `INSERT INTO api_users (name, public_key, secret_hash, roles)
         SELECT 'bulk', 'bulk-public-key-' || g, 'x', '{read}' FROM generate_series(1, 500) g`,
      );
      expect(
        await announcedBy([`UPDATE api_users SET enabled = false WHERE name = 'bulk'`]),
      ).toEqual([{ table: 'api_users' }]);
      expect(await announcedBy([`DELETE FROM api_users WHERE name = 'bulk'`])).toEqual([
        { table: 'api_users' },
      ]);
    });
  });
});

function isSettling(payload: unknown): boolean {
  const { nonce, ack } = payload as { nonce?: string; ack?: string };
  return nonce !== undefined || ack !== undefined;
}

function isMarker(payload: unknown): boolean {
  return (payload as { marker?: boolean }).marker === true;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
