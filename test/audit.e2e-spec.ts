import { adminRecord } from '../src/audit/audit-record';
import { AuditService } from '../src/audit/audit.service';
import {
  ADMIN,
  adminAuth,
  basic,
  createApiUser,
  createTestApp,
  disableApiUser,
  TestApp,
} from './support/test-app';

interface AuditRow {
  id: string;
  occurred_at: Date;
  kind: string;
  public_key: string | null;
  client_address: string | null;
  reason: string | null;
  action: string | null;
  target: string | null;
  actor: string | null;
  details: Record<string, unknown> | null;
}

/** A secret-looking value no test sends as a secret but every test looks for. */
const WRONG_SECRET = 'wrong-secret-value-0f9e8d7c6b5a4938';

describe('audit trail', () => {
  let t: TestApp;
  /** Every secret sent or received in this file: none may appear in the audit table. */
  const secrets = new Set<string>([ADMIN.secretKey, WRONG_SECRET]);

  beforeAll(async () => {
    // No timer flush during the tests: rows appear only on flush(), GET /admin/audit or close.
    t = await createTestApp({ LAST_REQUEST_FLUSH_MS: '3600000' });
  });
  afterAll(() => t.close());

  const admin = () => ({ Authorization: adminAuth() });
  const audit = () => t.app.get(AuditService);
  const rows = async (where = 'true', params: unknown[] = []): Promise<AuditRow[]> =>
    t.db.query<AuditRow & Record<string, unknown>>(
      `SELECT id::text, occurred_at, kind, public_key, host(client_address) AS client_address,
              reason, action, target, actor, details
         FROM audit_events WHERE ${where} ORDER BY occurred_at, id`,
      params,
    );
  const count = async (): Promise<number> =>
    Number((await t.db.query<{ n: string }>('SELECT count(*) AS n FROM audit_events'))[0].n);
  const newUser = async (body: Record<string, unknown> = {}) => {
    const user = await createApiUser(t, body);
    secrets.add(user.secretKey);
    return user;
  };

  const denialOf = async (publicKey: string | null, reason: string): Promise<AuditRow> => {
    await audit().flush();
    const found = await rows(
      `kind = 'denial' AND reason = $1 AND public_key IS NOT DISTINCT FROM $2`,
      [reason, publicKey],
    );
    expect(found.length).toBeGreaterThanOrEqual(1);
    return found[found.length - 1];
  };

  const expectDenial = (row: AuditRow, path: string, method = 'GET') => {
    expect(row.kind).toBe('denial');
    expect(row.action).toBeNull();
    expect(row.target).toBeNull();
    expect(row.actor).toBeNull();
    expect(row.client_address).toMatch(/^(127\.0\.0\.1|::1)$/);
    expect(row.details).toEqual({ method, path });
    expect(Date.now() - new Date(row.occurred_at).getTime()).toBeLessThan(60_000);
  };

  describe('a failed request', () => {
    it('is buffered, not written: no database write until the flush', async () => {
      await audit().flush();
      const before = await count();
      for (let i = 0; i < 5; i++) {
        await t.http
          .get('/odata/v1')
          .set('Authorization', basic('hot-path-key', WRONG_SECRET))
          .expect(401);
      }
      expect(await count()).toBe(before);
      expect(audit().pending).toBeGreaterThanOrEqual(5);

      await audit().flush();
      expect(await count()).toBe(before + 5);
      expect(audit().pending).toBe(0);
    });
  });

  describe('denials: one row per denied request, with the true reason', () => {
    it('2 InvalidAuthorizationHeader: no header, and a malformed one (no public key)', async () => {
      await audit().flush();
      const [{ last }] = await t.db.query<{ last: string }>(
        'SELECT coalesce(max(id), 0)::text AS last FROM audit_events',
      );
      await t.http.get('/odata/v1/Customers').expect(401);
      await t.http.get('/odata/v1/Customers').set('Authorization', 'Basic !!!').expect(401);
      await audit().flush();
      const found = await rows('id > $1', [last]);
      expect(found).toHaveLength(2);
      for (const row of found) {
        expect(row.reason).toBe('InvalidAuthorizationHeader');
        expect(row.public_key).toBeNull();
        expectDenial(row, '/odata/v1/Customers');
      }
    });

    it('4 UserUnknown: the presented public key, never the secret', async () => {
      await t.http
        .get('/odata/v1')
        .set('Authorization', basic('unknown-public-key-4', WRONG_SECRET))
        .expect(401);
      expectDenial(await denialOf('unknown-public-key-4', 'UserUnknown'), '/odata/v1');
    });

    it('5 UserDisabled', async () => {
      const user = await newUser();
      await disableApiUser(t, user.id);
      await t.http
        .get('/odata/v1')
        .set('Authorization', basic(user.publicKey, user.secretKey))
        .expect(401);
      expectDenial(await denialOf(user.publicKey, 'UserDisabled'), '/odata/v1');
    });

    it('3 InvalidCredentials', async () => {
      const user = await newUser();
      await t.http
        .post('/odata/v1/Products')
        .set('Authorization', basic(user.publicKey, WRONG_SECRET))
        .send({ Name: 'x', Sku: 'x', Price: 1 })
        .expect(401);
      expectDenial(
        await denialOf(user.publicKey, 'InvalidCredentials'),
        '/odata/v1/Products',
        'POST',
      );
    });

    it('0 ApiDisabled, with the key the request presented', async () => {
      const user = await newUser();
      await t.http.patch('/admin/settings').set(admin()).send({ apiEnabled: false }).expect(200);
      try {
        await t.http
          .get('/odata/v1')
          .set('Authorization', basic(user.publicKey, user.secretKey))
          .expect(401);
      } finally {
        await t.http.patch('/admin/settings').set(admin()).send({ apiEnabled: true }).expect(200);
      }
      expectDenial(await denialOf(user.publicKey, 'ApiDisabled'), '/odata/v1');
    });

    it('Forbidden: an authenticated user without the role (403)', async () => {
      const user = await newUser({ roles: ['read'] });
      await t.http
        .get('/admin/settings')
        .set('Authorization', basic(user.publicKey, user.secretKey))
        .expect(403);
      expectDenial(await denialOf(user.publicKey, 'Forbidden'), '/admin/settings');
    });

    it('never keeps the query string (clients put keys there)', async () => {
      await t.http
        .get(`/odata/v1/Customers?api_key=${WRONG_SECRET}&$top=1`)
        .set('Authorization', basic('query-string-key', WRONG_SECRET))
        .expect(401);
      const row = await denialOf('query-string-key', 'UserUnknown');
      expect(row.details).toEqual({ method: 'GET', path: '/odata/v1/Customers' });
    });

    it('is not recorded for a successful request, a 404 or a 400', async () => {
      const user = await newUser();
      await audit().flush();
      const before = await count();
      await t.http
        .get('/odata/v1')
        .set('Authorization', basic(user.publicKey, user.secretKey))
        .expect(200);
      await t.http
        .get('/odata/v1/Customers(999999)')
        .set('Authorization', basic(user.publicKey, user.secretKey))
        .expect(404);
      await t.http.get('/admin/audit?limit=0').set(admin()).expect(400);
      await audit().flush();
      expect(await count()).toBe(before);
    });
  });

  describe('admin actions: recorded after success with the acting admin', () => {
    const lastAction = async (action: string): Promise<AuditRow> => {
      await audit().flush();
      const found = await rows(`kind = 'admin' AND action = $1`, [action]);
      expect(found.length).toBeGreaterThanOrEqual(1);
      return found[found.length - 1];
    };
    const expectAdmin = (row: AuditRow) => {
      expect(row.kind).toBe('admin');
      expect(row.actor).toBe(ADMIN.publicKey);
      expect(row.public_key).toBe(ADMIN.publicKey);
      expect(row.reason).toBeNull();
      expect(row.client_address).toMatch(/^(127\.0\.0\.1|::1)$/);
    };

    it('api-users.create: the new user as target, field names but no key or secret', async () => {
      const importedSecret = 'imported-secret-value-for-audit-1234';
      secrets.add(importedSecret);
      const user = await newUser({
        name: 'Imported for audit',
        publicKey: 'imported-audit-public-key',
        secretKey: importedSecret,
        roles: ['read', 'write'],
      });
      const row = await lastAction('api-users.create');
      expectAdmin(row);
      expect(row.target).toBe(user.id);
      expect(row.details).toEqual({
        fields: ['name', 'publicKey', 'roles', 'secretKey'],
        values: { roles: ['read', 'write'] },
      });
    });

    it('api-users.update: the changed fields and their non-text values', async () => {
      const user = await newUser();
      await t.http
        .patch(`/admin/api-users/${user.id}`)
        .set(admin())
        .send({ enabled: false, name: 'Renamed', roles: ['read'] })
        .expect(200);
      const row = await lastAction('api-users.update');
      expectAdmin(row);
      expect(row.target).toBe(user.id);
      expect(row.details).toEqual({
        fields: ['enabled', 'name', 'roles'],
        values: { enabled: false, roles: ['read'] },
      });
    });

    it('api-users.rotate-secret: the new secret is not recorded', async () => {
      const user = await newUser();
      const rotated = await t.http
        .post(`/admin/api-users/${user.id}/secret`)
        .set(admin())
        .expect(200);
      secrets.add(rotated.body.secretKey);
      const row = await lastAction('api-users.rotate-secret');
      expectAdmin(row);
      expect(row.target).toBe(user.id);
      expect(row.details).toBeNull();
    });

    it('api-users.delete', async () => {
      const user = await newUser();
      await t.http.delete(`/admin/api-users/${user.id}`).set(admin()).expect(204);
      const row = await lastAction('api-users.delete');
      expectAdmin(row);
      expect(row.target).toBe(user.id);
      expect(row.details).toBeNull();
    });

    it('keeps every event of a batch when a body holds a name jsonb cannot store', async () => {
      // A lone surrogate as a field name, which JSON.stringify writes as "\ud800" and jsonb
      // refuses: it made the whole batch fail, so the user's creation, a denial and the
      // deletion itself were all dropped (found by review). No successful admin request can
      // carry such a field any more (a DELETE refuses every field, other routes know theirs),
      // so the deletion's event is recorded here as the interceptor would have recorded it.
      await audit().flush();
      const user = await newUser();
      await t.http.get('/odata/v1').set('Authorization', basic('audit-unknown-key', WRONG_SECRET));
      const deletion = {
        method: 'DELETE',
        url: `/admin/api-users/${user.id}`,
        headers: {},
        params: { id: user.id },
        body: JSON.parse('{"\\ud800":1}') as unknown,
        user: { publicKey: ADMIN.publicKey },
      };
      audit().record(adminRecord('api-users.delete', deletion, undefined));
      await audit().flush();
      const written = await rows(`target = $1 OR public_key = 'audit-unknown-key'`, [user.id]);
      expect(written.map((row) => row.action ?? row.reason)).toEqual([
        'api-users.create',
        'UserUnknown',
        'api-users.delete',
      ]);
      expect(written[2].details).toEqual({ fields: ['\ufffd'], values: { '\ufffd': 1 } });
    });

    it('settings.update', async () => {
      await t.http.patch('/admin/settings').set(admin()).send({ maxTop: 150 }).expect(200);
      await t.http.patch('/admin/settings').set(admin()).send({ maxTop: 120 }).expect(200);
      const row = await lastAction('settings.update');
      expectAdmin(row);
      expect(row.target).toBeNull();
      expect(row.details).toEqual({ fields: ['maxTop'], values: { maxTop: 120 } });
    });

    it('records neither reads nor failed changes', async () => {
      await audit().flush();
      const before = await count();
      await t.http.get('/admin/api-users').set(admin()).expect(200);
      await t.http.get('/admin/settings').set(admin()).expect(200);
      await t.http.get('/admin/audit').set(admin()).expect(200);
      await t.http
        .patch('/admin/api-users/00000000-0000-4000-8000-000000000000')
        .set(admin())
        .send({ enabled: false })
        .expect(404);
      await t.http.post('/admin/api-users').set(admin()).send({ name: '' }).expect(400);
      await t.http
        .delete(`/admin/api-users/${await adminId()}`)
        .set(admin())
        .expect(409);
      await audit().flush();
      expect(await count()).toBe(before);
    });

    const adminId = async (): Promise<string> => {
      const [row] = await t.db.query<{ id: string }>(
        'SELECT id FROM api_users WHERE public_key = $1',
        [ADMIN.publicKey],
      );
      return row.id;
    };
  });

  describe('GET /admin/audit', () => {
    it('shows a just-recorded event at once, with every column', async () => {
      await t.http
        .get('/odata/v1')
        .set('Authorization', basic('shown-at-once-key', WRONG_SECRET))
        .expect(401);
      const response = await t.http
        .get('/admin/audit?publicKey=shown-at-once-key')
        .set(admin())
        .expect(200);
      expect(response.body).toEqual({
        value: [
          {
            id: expect.stringMatching(/^\d+$/),
            occurredAt: expect.any(String),
            kind: 'denial',
            publicKey: 'shown-at-once-key',
            clientAddress: expect.any(String),
            reason: 'UserUnknown',
            action: null,
            target: null,
            actor: null,
            details: { method: 'GET', path: '/odata/v1' },
          },
        ],
      });
      expect(new Date(response.body.value[0].occurredAt).toISOString()).toBe(
        response.body.value[0].occurredAt,
      );
    });

    it('needs the admin role', async () => {
      const user = await newUser({ roles: ['read', 'write'] });
      await t.http
        .get('/admin/audit')
        .set('Authorization', basic(user.publicKey, user.secretKey))
        .expect(403);
      await t.http.get('/admin/audit').expect(401);
    });

    describe('filters', () => {
      const ids = async (query: string): Promise<string[]> => {
        const response = await t.http.get(`/admin/audit?${query}`).set(admin()).expect(200);
        return response.body.value.map((e: { id: string }) => e.id);
      };
      let old: string;
      let recent: string;
      let denial: AuditRow;

      beforeAll(async () => {
        [{ id: old }] = await t.db.query<{ id: string }>(
          `INSERT INTO audit_events (occurred_at, kind, public_key, client_address, reason, details)
           VALUES ('2020-01-15T12:00:00Z', 'denial', 'filter-key', '10.1.2.3', 'UserLocked', '{"method":"GET","path":"/odata/v1"}')
           RETURNING id::text`,
        );
        [{ id: recent }] = await t.db.query<{ id: string }>(
          `INSERT INTO audit_events (occurred_at, kind, public_key, client_address, action, target, actor)
           VALUES ('2020-01-16T12:00:00Z', 'admin', 'filter-key', '2001:db8::7', 'lockouts.lift', 'k', 'filter-key')
           RETURNING id::text`,
        );
        await t.http
          .get('/odata/v1')
          .set('Authorization', basic('filter-key', WRONG_SECRET))
          .expect(401);
        await audit().flush();
        [denial] = await rows(`public_key = 'filter-key' AND reason = 'UserUnknown'`);
      });

      it('publicKey', async () => {
        expect(await ids('publicKey=filter-key')).toEqual([denial.id, recent, old]);
        expect(await ids('publicKey=no-such-key')).toEqual([]);
      });

      it('from (inclusive) and to (exclusive), date-times with offsets or dates', async () => {
        expect(await ids('publicKey=filter-key&from=2020-01-16T12:00:00Z')).toEqual([
          denial.id,
          recent,
        ]);
        expect(await ids('publicKey=filter-key&to=2020-01-16T12:00:00Z')).toEqual([old]);
        expect(
          await ids('publicKey=filter-key&from=2020-01-15&to=2020-01-16T13:00:00%2B01:00'),
        ).toEqual([old]);
        expect(await ids('publicKey=filter-key&from=2020-01-15&to=2020-01-17')).toEqual([
          recent,
          old,
        ]);
      });

      it('kind, reason and action', async () => {
        expect(await ids('publicKey=filter-key&kind=admin')).toEqual([recent]);
        expect(await ids('publicKey=filter-key&kind=denial')).toEqual([denial.id, old]);
        expect(await ids('publicKey=filter-key&reason=UserLocked')).toEqual([old]);
        expect(await ids('action=lockouts.lift')).toEqual([recent]);
      });

      it('clientAddress: an address or a network', async () => {
        expect(await ids('publicKey=filter-key&clientAddress=10.1.2.3')).toEqual([old]);
        expect(await ids('publicKey=filter-key&clientAddress=10.0.0.0/8')).toEqual([old]);
        expect(await ids('publicKey=filter-key&clientAddress=2001:db8::/32')).toEqual([recent]);
        expect(await ids('publicKey=filter-key&clientAddress=192.168.0.0/16')).toEqual([]);
        // Stored as IPv4: the IPv4-mapped IPv6 spelling finds it too.
        expect(await ids('publicKey=filter-key&clientAddress=::ffff:10.1.2.3')).toEqual([old]);
        expect(await ids('publicKey=filter-key&clientAddress=::ffff:10.0.0.0/104')).toEqual([old]);
        expect(
          await ids(
            `publicKey=filter-key&clientAddress=${encodeURIComponent(denial.client_address!)}`,
          ),
        ).toEqual([denial.id]);
      });

      it('several at once (all must match)', async () => {
        expect(
          await ids('publicKey=filter-key&kind=denial&reason=UserLocked&clientAddress=10.1.2.3'),
        ).toEqual([old]);
        expect(await ids('publicKey=filter-key&kind=admin&reason=UserLocked')).toEqual([]);
      });
    });

    describe('paging: newest first, limit and a keyset cursor', () => {
      it('follows @odata.nextLink to the end without gaps or repeats', async () => {
        for (let i = 0; i < 7; i++) {
          await t.http
            .get(`/odata/v1/Customers(${i + 1})`)
            .set('Authorization', basic('paging-key', WRONG_SECRET))
            .expect(401);
        }
        let url: string | undefined = '/admin/audit?publicKey=paging-key&limit=3';
        type Page = {
          value: { id: string; occurredAt: string; details: { path: string } }[];
          '@odata.nextLink'?: string;
        };
        const pages: Page['value'][] = [];
        while (url) {
          const response: { body: Page } = await t.http.get(url).set(admin()).expect(200);
          pages.push(response.body.value);
          const next = response.body['@odata.nextLink'];
          if (next) {
            const link: URL = new URL(next);
            expect(link.pathname).toBe('/admin/audit');
            expect(link.searchParams.get('publicKey')).toBe('paging-key');
            expect(link.searchParams.get('limit')).toBe('3');
            url = `${link.pathname}${link.search}`;
          } else {
            url = undefined;
          }
        }
        expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
        const all = pages.flat();
        expect(new Set(all.map((e) => e.id)).size).toBe(7);
        const times = all.map((e) => Date.parse(e.occurredAt));
        expect([...times].sort((a, b) => b - a)).toEqual(times);
        // Newest first: the last request (Customers(7)) leads.
        expect(all[0].details.path).toBe('/odata/v1/Customers(7)');
      });

      it('has no nextLink when the page is not full, and defaults to 100', async () => {
        const response = await t.http
          .get('/admin/audit?publicKey=paging-key&limit=7')
          .set(admin())
          .expect(200);
        expect(response.body.value).toHaveLength(7);
        expect(response.body['@odata.nextLink']).toBeUndefined();

        await t.db.query(
          `INSERT INTO audit_events (occurred_at, kind, public_key, reason)
           SELECT now() - make_interval(secs => n), 'denial', 'many-key', 'UserUnknown'
             FROM generate_series(1, 101) AS n`,
        );
        const first = await t.http.get('/admin/audit?publicKey=many-key').set(admin()).expect(200);
        expect(first.body.value).toHaveLength(100);
        const next = new URL(first.body['@odata.nextLink']);
        expect(next.searchParams.get('limit')).toBe('100');
        expect(next.searchParams.get('before')).toBe(first.body.value[99].id);
        const rest = await t.http.get(`${next.pathname}${next.search}`).set(admin()).expect(200);
        expect(rest.body.value).toHaveLength(1);
      });

      it('orders by the time of the event, not the order rows were written', async () => {
        const inserted = await t.db.query<{ id: string }>(
          `INSERT INTO audit_events (occurred_at, kind, public_key, reason) VALUES
             ('2021-03-01T00:00:03Z', 'denial', 'order-key', 'UserUnknown'),
             ('2021-03-01T00:00:01Z', 'denial', 'order-key', 'UserUnknown'),
             ('2021-03-01T00:00:02Z', 'denial', 'order-key', 'UserUnknown')
           RETURNING id::text`,
        );
        const [a, b, c] = inserted.map((r) => r.id);
        const first = await t.http
          .get('/admin/audit?publicKey=order-key&limit=2')
          .set(admin())
          .expect(200);
        expect(first.body.value.map((e: { id: string }) => e.id)).toEqual([a, c]);
        const next = new URL(first.body['@odata.nextLink']);
        const second = await t.http.get(`${next.pathname}${next.search}`).set(admin()).expect(200);
        expect(second.body.value.map((e: { id: string }) => e.id)).toEqual([b]);
      });

      it('answers an empty page for a cursor that names no event', async () => {
        const response = await t.http
          .get('/admin/audit?before=999999999999')
          .set(admin())
          .expect(200);
        expect(response.body).toEqual({ value: [] });
      });
    });

    describe('validation: 400 naming the parameter', () => {
      const cases: [string, string][] = [
        ['from=yesterday', 'from'],
        ['from=2025-13-01T00:00:00Z', 'from'],
        ['from=2025-02-30', 'from'],
        ['from=2025-01-01T00:00:00', 'from'],
        // Beyond PostgreSQL's ±15:59 (a 500 before).
        ['from=2026-12-03T10:00:00-16:00', 'from'],
        ['to=2026-12-03T10:00:00%2B16:00', 'to'],
        ['to=1700000000', 'to'],
        ['from=2025-01-02&to=2025-01-01', 'to'],
        ['from=2025-01-01T00:00:01Z&to=2025-01-01T00:00:00.999Z', 'to'],
        ['kind=login', 'kind'],
        ['kind=denial&kind=admin', 'kind'],
        ['reason=Nope', 'reason'],
        ['action=Api%20Users', 'action'],
        ['clientAddress=300.1.1.1', 'clientAddress'],
        ['clientAddress=10.0.0.0/33', 'clientAddress'],
        ['clientAddress=localhost', 'clientAddress'],
        // net.isIP takes a zone id, PostgreSQL's inet does not (a 500 before).
        ['clientAddress=fe80::1%25eth0', 'clientAddress'],
        ['clientAddress=fe80::%251/64', 'clientAddress'],
        ['publicKey=', 'publicKey'],
        [`publicKey=${'k'.repeat(129)}`, 'publicKey'],
        // NUL was a 500 (PostgreSQL refuses it); no presented key has a control character.
        ['publicKey=%00abc', 'publicKey'],
        ['publicKey=a%1Fb', 'publicKey'],
        ['limit=0', 'limit'],
        ['limit=1001', 'limit'],
        ['limit=ten', 'limit'],
        ['limit=2.5', 'limit'],
        ['before=abc', 'before'],
        ['before=0', 'before'],
        ['before=-5', 'before'],
        ['page=2', 'page'],
        // Names every plain object inherits: class-validator's whitelist took them for known.
        ['toString=1', 'toString'],
        ['constructor=1', 'constructor'],
        ['hasOwnProperty=1', 'hasOwnProperty'],
        ['valueOf=1&kind=admin', 'valueOf'],
        ['__proto__=1', '__proto__'],
        ['kind=admin&__defineGetter__=x', '__defineGetter__'],
      ];
      it.each(cases)('refuses %s', async (query, parameter) => {
        const response = await t.http.get(`/admin/audit?${query}`).set(admin()).expect(400);
        expect(response.body.error.code).toBe('InvalidQuery');
        expect(response.body.error.target).toBe(parameter);
        expect(response.body.error.message).toContain(parameter);
      });

      it('counts publicKey in code points, as its varchar(128) column does', async () => {
        // @Length did not count U+FE0F, so 256 code points passed as 128.
        const publicKey = (codePoints: number) =>
          encodeURIComponent('a\ufe0f'.repeat(codePoints / 2));
        await t.http
          .get(`/admin/audit?publicKey=${publicKey(128)}`)
          .set(admin())
          .expect(200);
        const response = await t.http
          .get(`/admin/audit?publicKey=${publicKey(256)}`)
          .set(admin())
          .expect(400);
        expect(response.body.error.target).toBe('publicKey');
      });

      it('accepts the limits of every range', async () => {
        for (const query of [
          'limit=1',
          'limit=1000',
          'from=2025-01-01T00:00:00.123456Z&to=2025-01-01T00:00:00.123457Z',
          'from=2025-01-01T10:00%2B02:00',
          'clientAddress=::1',
          'clientAddress=0.0.0.0/0',
          'reason=ClientBlocked',
          'reason=Forbidden',
          'kind=admin',
        ]) {
          await t.http.get(`/admin/audit?${query}`).set(admin()).expect(200);
        }
      });
    });
  });

  describe('retention', () => {
    it('deletes events older than AUDIT_RETENTION_DAYS (default 90)', async () => {
      await t.db.query(
        `INSERT INTO audit_events (occurred_at, kind, public_key, reason) VALUES
           (now() - interval '91 days', 'denial', 'retention-key', 'UserUnknown'),
           (now() - interval '89 days', 'denial', 'retention-key', 'UserUnknown')`,
      );
      expect(await audit().purgeExpired()).toBeGreaterThanOrEqual(1);
      const left = await rows(`public_key = 'retention-key'`);
      expect(left).toHaveLength(1);
      expect(Date.now() - new Date(left[0].occurred_at).getTime()).toBeLessThan(90 * 86_400_000);
    });
  });

  // Last but one: Passport keeps strategies in one process-wide registry, so the newest app
  // instance authenticates for every instance in this process, and closing it leaves the
  // others answering 503. After this block the main app is only used through SQL and flush().
  describe('other instances on the same database', () => {
    it('conceal mode: the client sees 3, the audit keeps 4 (UserUnknown)', async () => {
      const concealed = await createTestApp(
        { AUTH_CONCEAL_REASONS: 'true', LAST_REQUEST_FLUSH_MS: '3600000' },
        t.db,
      );
      try {
        const response = await concealed.http
          .get('/odata/v1')
          .set('Authorization', basic('concealed-unknown-key', WRONG_SECRET))
          .expect(401);
        expect(response.headers['smartstore-api-authresultdesc']).toBe('InvalidCredentials');
        // Still buffered on that instance: closing it writes the buffer.
        expect(await rows(`public_key = 'concealed-unknown-key'`)).toEqual([]);
      } finally {
        await concealed.close();
      }
      const [row] = await rows(`public_key = 'concealed-unknown-key'`);
      expect(row.reason).toBe('UserUnknown');
    });

    it('1 SslRequired (NODE_ENV=production over plain HTTP)', async () => {
      const production = await createTestApp(
        { NODE_ENV: 'production', LAST_REQUEST_FLUSH_MS: '3600000' },
        t.db,
      );
      try {
        await production.http
          .get('/odata/v1')
          .set('Authorization', basic('cleartext-key', WRONG_SECRET))
          .expect(421);
      } finally {
        await production.close();
      }
      const [row] = await rows(`public_key = 'cleartext-key'`);
      expect(row.reason).toBe('SslRequired');
      expectDenial(row, '/odata/v1');
    });

    it('retention runs at start (an instance with AUDIT_RETENTION_DAYS=7)', async () => {
      await t.db.query(
        `INSERT INTO audit_events (occurred_at, kind, public_key, reason)
         VALUES (now() - interval '8 days', 'denial', 'start-retention-key', 'UserUnknown')`,
      );
      const other = await createTestApp({ AUDIT_RETENTION_DAYS: '7' }, t.db);
      try {
        const deadline = Date.now() + 10_000;
        while ((await rows(`public_key = 'start-retention-key'`)).length > 0) {
          if (Date.now() > deadline) throw new Error('the start did not delete expired events');
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        await other.close();
      }
      // 89 days old: kept by this app's 90 days, deleted by the 7-day one.
      expect(await rows(`public_key = 'retention-key'`)).toEqual([]);
    });
  });

  it('never stores a secret, in any column', async () => {
    await audit().flush();
    const all = await t.db.query<{ row: string }>(
      `SELECT row_to_json(e)::text AS row FROM audit_events e`,
    );
    expect(all.length).toBeGreaterThan(20);
    const dump = all.map((r) => r.row).join('\n');
    expect(secrets.size).toBeGreaterThan(5);
    for (const secret of secrets) {
      expect(dump).not.toContain(secret);
      expect(dump).not.toContain(Buffer.from(secret).toString('base64'));
    }
    expect(dump).not.toMatch(/Basic [A-Za-z0-9+/=]{8,}/);
  });
});
