import { ADMIN, adminAuth, basic, createApiUser, createTestApp, TestApp } from './support/test-app';

describe('admin API: /admin/api-users', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const admin = () => ({ Authorization: adminAuth() });

  it('creates a user with generated keys and shows the secret only in that answer', async () => {
    const before = Date.now();
    const created = await t.http
      .post('/admin/api-users')
      .set(admin())
      .send({ name: 'Shop connector' })
      .expect(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'Shop connector',
      publicKey: expect.stringMatching(/^[0-9a-f]{32}$/),
      secretKey: expect.stringMatching(/^[0-9a-f]{64}$/),
      roles: ['read'],
      enabled: true,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      lastRequestAt: null,
      rateLimit: null,
      dailyQuota: null,
      effectiveRateLimit: null,
      effectiveDailyQuota: null,
    });
    expect(new Date(created.body.createdAt).getTime()).toBeGreaterThanOrEqual(before - 1000);

    const { secretKey, ...withoutSecret } = created.body;
    const fetched = await t.http
      .get(`/admin/api-users/${created.body.id}`)
      .set(admin())
      .expect(200);
    expect(fetched.body).toEqual(withoutSecret);
    const listed = await t.http.get('/admin/api-users').set(admin()).expect(200);
    expect(listed.body.value).toContainEqual(withoutSecret);
    expect(JSON.stringify(listed.body)).not.toContain(secretKey);

    // Stored only as a salted hash.
    const [row] = await t.db.query<{ secret_hash: string }>(
      'SELECT secret_hash FROM api_users WHERE id = $1',
      [created.body.id],
    );
    expect(row.secret_hash).toMatch(/^hmac-sha256\$/);
    expect(row.secret_hash).not.toContain(secretKey);
  });

  it('generates different keys every time', async () => {
    const a = await createApiUser(t);
    const b = await createApiUser(t);
    expect(a.publicKey).not.toBe(b.publicKey);
    expect(a.secretKey).not.toBe(b.secretKey);
  });

  describe('validation: 400 naming the field', () => {
    const cases: [string, unknown, string][] = [
      ['a missing name', {}, 'name'],
      ['an empty name', { name: '' }, 'name'],
      ['a name that is not a string', { name: 42 }, 'name'],
      ['an unknown role', { name: 'x', roles: ['read', 'superuser'] }, 'roles'],
      ['roles that are not a list', { name: 'x', roles: 'read' }, 'roles'],
      ['a public key with a colon', { name: 'x', publicKey: 'abc:defghijklmnop' }, 'publicKey'],
      ['a public key too short', { name: 'x', publicKey: 'abc' }, 'publicKey'],
      ['a secret under 16 characters', { name: 'x', secretKey: 'short-secret' }, 'secretKey'],
      [
        'a secret with a control character',
        { name: 'x', secretKey: 'line\nbreak-secret-12345' },
        'secretKey',
      ],
      // Lone surrogates reach the server as \ud800 escapes; they would be stored as given and
      // match U+FFFD from the header's UTF-8, so different secrets would sign in alike.
      ['a secret of lone surrogates', { name: 'x', secretKey: '\ud800'.repeat(20) }, 'secretKey'],
      [
        'a secret with a lone surrogate',
        { name: 'x', secretKey: 'sixteen-chars-ok\udc00' },
        'secretKey',
      ],
      [
        'a public key with a lone surrogate',
        { name: 'x', publicKey: 'pubkey00\ud800' },
        'publicKey',
      ],
      ['an unknown field', { name: 'x', isAdmin: true }, 'isAdmin'],
      // PostgreSQL refuses NUL in text (a 500 before), and the column holds 200 code points,
      // where @Length did not count the variation selectors U+FE0E/U+FE0F.
      ['a name with a NUL character', { name: 'a\u0000b' }, 'name'],
      ['a name with a control character', { name: 'tab\there' }, 'name'],
      ['a name of 400 code points', { name: 'a\ufe0f'.repeat(200) }, 'name'],
      ['a name of 201 code points', { name: 'x'.repeat(201) }, 'name'],
      ['a name with a lone surrogate', { name: 'a\ud800b' }, 'name'],
    ];
    it.each(cases)('refuses %s', async (_, body, field) => {
      const response = await t.http
        .post('/admin/api-users')
        .set(admin())
        .send(body as object)
        .expect(400);
      expect(response.body.error.code).toBe('InvalidRequestBody');
      expect(response.body.error.message).toContain(field);
      expect(response.body.error.details.map((d: { target: string }) => d.target)).toContain(field);
    });

    it('refuses a body that is not JSON with 415', async () => {
      const response = await t.http
        .post('/admin/api-users')
        .set(admin())
        .set('Content-Type', 'text/plain')
        .send('name=x')
        .expect(415);
      expect(response.body.error.code).toBe('UnsupportedMediaType');
    });

    it('refuses broken JSON with 400 and the error body', async () => {
      const response = await t.http
        .post('/admin/api-users')
        .set(admin())
        .set('Content-Type', 'application/json')
        .send('{"name": ')
        .expect(400);
      expect(response.body.error.code).toBe('BadRequest');
    });

    it('reads JSON bodies as UTF-8 only: other bytes 400, another charset 415', async () => {
      // Decoded leniently, "M\xfcller" (ISO-8859-1) became "M\ufffdller" and was stored.
      const latin1 = Buffer.concat([
        Buffer.from('{"name":"M'),
        Buffer.from([0xfc]),
        Buffer.from('ller"}'),
      ]);
      // The bytes as they are (supertest would serialize a Buffer as JSON).
      const post = async (contentType: string, body: Buffer | string) => {
        const response = await t.http
          .post('/admin/api-users')
          .set(admin())
          .set('Content-Type', contentType)
          .serialize((raw: unknown) => raw as string)
          .send(body as unknown as string);
        return { status: response.status, body: response.body };
      };
      const refused = await post('application/json', latin1);
      expect(refused.status).toBe(400);
      expect(refused.body.error).toEqual({
        code: 'BadRequest',
        message: 'The request body is not valid UTF-8.',
      });
      const otherCharset = await post('application/json; charset=ISO-8859-1', latin1);
      expect([otherCharset.status, otherCharset.body.error.code]).toEqual([
        415,
        'UnsupportedMediaType',
      ]);
      const created = await post(
        'application/json; charset="UTF-8"',
        Buffer.from('{"name":"Müller"}', 'utf8'),
      );
      expect([created.status, created.body.name]).toEqual([201, 'Müller']);
      const poisoned = await post('application/json', '{"name":"x","__proto__":{"admin":true}}');
      expect(poisoned.status).toBe(400);
    });

    it('refuses a deeply nested body with 400, not a 500 from a stack overflow', async () => {
      for (const [method, path] of [
        ['post', '/admin/api-users'],
        ['patch', '/admin/settings'],
      ] as const) {
        const response = await t.http[method](path)
          .set(admin())
          .set('Content-Type', 'application/json')
          .send(`{"name":"x","roles":${'['.repeat(5000)}${']'.repeat(5000)}}`)
          .expect(400);
        expect(response.body.error).toEqual({
          code: 'InvalidRequestBody',
          message: 'The request body nests deeper than 32 levels.',
        });
      }
    });

    it.each(['toString', 'constructor', 'hasOwnProperty'])(
      'refuses a field named %s, inherited by every object, as unknown',
      async (field) => {
        const response = await t.http
          .post('/admin/api-users')
          .set(admin())
          .send({ name: 'inherited', [field]: 1 })
          .expect(400);
        expect(response.body.error).toMatchObject({
          code: 'InvalidRequestBody',
          target: field,
          message: `${field} is not a known field`,
        });
      },
    );

    it('refuses a bad PATCH', async () => {
      const user = await createApiUser(t);
      const response = await t.http
        .patch(`/admin/api-users/${user.id}`)
        .set(admin())
        .send({ enabled: 'yes' })
        .expect(400);
      expect(response.body.error.target).toBe('enabled');
    });

    it.each([
      ['a NUL character', 'a\u0000b'],
      ['400 code points', 'a\ufe0f'.repeat(200)],
    ])('refuses a PATCH of a name with %s, and the name stays', async (_, name) => {
      const user = await createApiUser(t, { name: 'Before' });
      const response = await t.http
        .patch(`/admin/api-users/${user.id}`)
        .set(admin())
        .send({ name })
        .expect(400);
      expect(response.body.error.code).toBe('InvalidRequestBody');
      expect(response.body.error.target).toBe('name');
      const fetched = await t.http.get(`/admin/api-users/${user.id}`).set(admin()).expect(200);
      expect(fetched.body.name).toBe('Before');
    });

    it('takes a name of 200 code points, however many UTF-16 units they are', async () => {
      for (const name of ['a\ufe0f'.repeat(100), '\u{1f600}'.repeat(200), 'x'.repeat(200)]) {
        const created = await createApiUser(t, { name });
        expect(created).toMatchObject({ name });
        const renamed = await t.http
          .patch(`/admin/api-users/${created.id}`)
          .set(admin())
          .send({ name: [...name].reverse().join('') })
          .expect(200);
        expect([...renamed.body.name]).toHaveLength(200);
      }
    });

    it.each(['name', 'roles', 'enabled'])('refuses a PATCH setting %s to null', async (field) => {
      const user = await createApiUser(t);
      const response = await t.http
        .patch(`/admin/api-users/${user.id}`)
        .set(admin())
        .send({ [field]: null })
        .expect(400);
      expect(response.body.error.target).toBe(field);
    });
  });

  describe('an imported secret must fit the Authorization header (4096 characters)', () => {
    // "publicKey:secretKey" may have 3066 bytes of UTF-8: base64 makes 4088 characters of
    // them, plus "Basic ". Longer, every request with the key was 401 (reason 2): never usable.
    const create = (body: Record<string, unknown>) =>
      t.http
        .post('/admin/api-users')
        .set(admin())
        .send({ name: 'long secret', ...body });

    it('refuses 1024 three-byte characters with 400 naming secretKey', async () => {
      const response = await create({ publicKey: 'eurokey12345', secretKey: '€'.repeat(1024) });
      expect(response.status).toBe(400);
      expect(response.body.error.target).toBe('secretKey');
      expect(response.body.error.message).toContain('3066 bytes');
    });

    it('takes the longest pair that fits, which then signs in, and refuses one byte more', async () => {
      // 12 + 1 + 3053 = 3066 bytes
      const longest = '€'.repeat(1017) + 'ab';
      const created = await create({ publicKey: 'eurokey-long', secretKey: longest }).expect(201);
      await t.http
        .get('/odata/v1')
        .set('Authorization', basic(created.body.publicKey, longest))
        .expect(200);
      const response = await create({ publicKey: 'eurokey-long2', secretKey: `${longest}c` });
      expect(response.status).toBe(400);
      expect(response.body.error.target).toBe('secretKey');
    });

    it('counts a generated public key (32 characters) when none is imported', async () => {
      const longest = '€'.repeat(1011); // 32 + 1 + 3033 = 3066 bytes
      const created = await create({ roles: ['read'], secretKey: longest }).expect(201);
      await t.http
        .get('/odata/v1')
        .set('Authorization', basic(created.body.publicKey, longest))
        .expect(200);
      const response = await create({ secretKey: `${longest}x` });
      expect(response.status).toBe(400);
      expect(response.body.error.target).toBe('secretKey');
    });
  });

  it('takes a secret of characters outside the BMP (surrogate pairs), which then signs in', async () => {
    const secretKey = '\u{1f511}'.repeat(16);
    const created = await t.http
      .post('/admin/api-users')
      .set(admin())
      .send({ name: 'keys', publicKey: 'astralkey001', secretKey })
      .expect(201);
    await t.http
      .get('/odata/v1')
      .set('Authorization', basic(created.body.publicKey, secretKey))
      .expect(200);
  });

  it('answers 409 for a duplicate public key', async () => {
    const first = await createApiUser(t, { publicKey: 'imported-public-key-1' });
    const response = await t.http
      .post('/admin/api-users')
      .set(admin())
      .send({ name: 'again', publicKey: first.publicKey })
      .expect(409);
    expect(response.body.error.code).toBe('DuplicatePublicKey');
  });

  it('answers 404 for unknown and malformed ids on every route', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      for (const [method, path] of [
        ['get', `/admin/api-users/${id}`],
        ['patch', `/admin/api-users/${id}`],
        ['delete', `/admin/api-users/${id}`],
        ['post', `/admin/api-users/${id}/secret`],
      ] as const) {
        const response = await t.http[method](path).set(admin()).send({}).expect(404);
        expect(response.body.error.code).toBe('NotFound');
      }
    }
  });

  it('renames, changes roles and disables a user; disabling takes effect on the next request', async () => {
    const user = await createApiUser(t, { roles: ['read'] });
    const auth = basic(user.publicKey, user.secretKey);
    await t.http.get('/odata/v1').set('Authorization', auth).expect(200);

    const patched = await t.http
      .patch(`/admin/api-users/${user.id}`)
      .set(admin())
      .send({ name: 'Renamed', roles: ['write'] })
      .expect(200);
    expect(patched.body).toMatchObject({ name: 'Renamed', roles: ['write'], enabled: true });
    await t.http.get('/odata/v1').set('Authorization', auth).expect(403);

    await t.http
      .patch(`/admin/api-users/${user.id}`)
      .set(admin())
      .send({ enabled: false })
      .expect(200);
    const denied = await t.http.get('/odata/v1').set('Authorization', auth).expect(401);
    expect(denied.headers['smartstore-api-authresultdesc']).toBe('UserDisabled');
  });

  it('rotates a secret: the new one works and the old one stops at once', async () => {
    const user = await createApiUser(t);
    const rotated = await t.http
      .post(`/admin/api-users/${user.id}/secret`)
      .set(admin())
      .expect(200);
    expect(rotated.body.secretKey).toMatch(/^[0-9a-f]{64}$/);
    expect(rotated.body.secretKey).not.toBe(user.secretKey);
    expect(rotated.body.publicKey).toBe(user.publicKey);
    const old = await t.http
      .get('/odata/v1')
      .set('Authorization', basic(user.publicKey, user.secretKey))
      .expect(401);
    expect(old.headers['smartstore-api-authresultdesc']).toBe('InvalidCredentials');
    await t.http
      .get('/odata/v1')
      .set('Authorization', basic(user.publicKey, rotated.body.secretKey))
      .expect(200);
  });

  describe('routes that take no body refuse one with 400, and change nothing', () => {
    const json = () => ({ ...admin(), 'Content-Type': 'application/json' });
    const bodies: [string, string, string][] = [
      ['a field', '{"secretKey":"wantedsecret0000001"}', 'secretKey'],
      ['an array', '[1,2]', '0'],
      ['an empty array', '[]', 'body'],
      ['a JSON string', '"x"', 'body'],
      ['a number', '1', 'body'],
    ];

    it.each(bodies)('POST …/secret with %s: the secret stays', async (_, body, target) => {
      const user = await createApiUser(t);
      const response = await t.http
        .post(`/admin/api-users/${user.id}/secret`)
        .set(json())
        .send(body)
        .expect(400);
      expect(response.body.error.code).toBe('InvalidRequestBody');
      expect(response.body.error.target).toBe(target);
      await t.http
        .get('/odata/v1')
        .set('Authorization', basic(user.publicKey, user.secretKey))
        .expect(200);
    });

    it.each(bodies)('DELETE with %s: the user stays', async (_, body, target) => {
      const user = await createApiUser(t);
      const response = await t.http
        .delete(`/admin/api-users/${user.id}`)
        .set(json())
        .send(body)
        .expect(400);
      expect(response.body.error.target).toBe(target);
      await t.http.get(`/admin/api-users/${user.id}`).set(admin()).expect(200);
    });

    it('names the field: DELETE with {"force": true}', async () => {
      const user = await createApiUser(t);
      const response = await t.http
        .delete(`/admin/api-users/${user.id}`)
        .set(admin())
        .send({ force: true })
        .expect(400);
      expect(response.body.error).toMatchObject({
        code: 'InvalidRequestBody',
        target: 'force',
        message: 'force is not a known field',
      });
    });

    it('takes no body, {} or null (as none)', async () => {
      for (const body of [undefined, '{}', 'null']) {
        const user = await createApiUser(t);
        const rotate = t.http.post(`/admin/api-users/${user.id}/secret`).set(admin());
        const remove = t.http.delete(`/admin/api-users/${user.id}`).set(admin());
        if (body === undefined) {
          await rotate.expect(200);
          await remove.expect(204);
        } else {
          await rotate.set(json()).send(body).expect(200);
          await remove.set(json()).send(body).expect(204);
        }
      }
    });
  });

  it('deletes a user with 204; the key is then unknown', async () => {
    const user = await createApiUser(t);
    const response = await t.http.delete(`/admin/api-users/${user.id}`).set(admin()).expect(204);
    expect(response.text).toBe('');
    await t.http.get(`/admin/api-users/${user.id}`).set(admin()).expect(404);
    const denied = await t.http
      .get('/odata/v1')
      .set('Authorization', basic(user.publicKey, user.secretKey))
      .expect(401);
    expect(denied.headers['smartstore-api-authresultdesc']).toBe('UserUnknown');
  });
});

describe('admin API: the last enabled admin', () => {
  let t: TestApp;
  let bootstrapId: string;
  beforeAll(async () => {
    t = await createTestApp();
    const list = await t.http.get('/admin/api-users').set('Authorization', adminAuth()).expect(200);
    bootstrapId = list.body.value.find(
      (u: { publicKey: string }) => u.publicKey === ADMIN.publicKey,
    ).id;
  });
  afterAll(() => t.close());

  it('cannot be disabled, demoted or deleted (409), and nothing changes', async () => {
    const attempts = [
      t.http.patch(`/admin/api-users/${bootstrapId}`).send({ enabled: false }),
      t.http.patch(`/admin/api-users/${bootstrapId}`).send({ roles: ['read', 'write'] }),
      t.http.delete(`/admin/api-users/${bootstrapId}`),
    ];
    for (const attempt of attempts) {
      const response = await attempt.set('Authorization', adminAuth()).expect(409);
      expect(response.body.error.code).toBe('LastAdmin');
    }
    const [row] = await t.db.query<{ enabled: boolean; roles: string[] }>(
      'SELECT enabled, roles FROM api_users WHERE id = $1',
      [bootstrapId],
    );
    expect(row.enabled).toBe(true);
    expect(row.roles).toContain('admin');
  });

  it('can be demoted once another enabled admin exists, who then is the last one', async () => {
    const second = await createApiUser(t, { roles: ['admin'] });
    await t.http
      .patch(`/admin/api-users/${bootstrapId}`)
      .set('Authorization', adminAuth())
      .send({ roles: ['read'] })
      .expect(200);
    const secondAuth = basic(second.publicKey, second.secretKey);
    const response = await t.http
      .delete(`/admin/api-users/${second.id}`)
      .set('Authorization', secondAuth)
      .expect(409);
    expect(response.body.error.code).toBe('LastAdmin');
    // Put the bootstrap admin back for the other tests of this file.
    await t.http
      .patch(`/admin/api-users/${bootstrapId}`)
      .set('Authorization', secondAuth)
      .send({ roles: ['admin', 'read', 'write'] })
      .expect(200);
  });
});

describe('admin API: /admin/settings', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('shows the defaults and changes maxTop', async () => {
    const shown = await t.http.get('/admin/settings').set('Authorization', adminAuth()).expect(200);
    expect(shown.body).toMatchObject({ apiEnabled: true, maxTop: 120 });
    const changed = await t.http
      .patch('/admin/settings')
      .set('Authorization', adminAuth())
      .send({ maxTop: 50 })
      .expect(200);
    expect(changed.body).toMatchObject({ apiEnabled: true, maxTop: 50 });
    const [row] = await t.db.query<{ max_top: number }>('SELECT max_top FROM settings');
    expect(row.max_top).toBe(50);
  });

  it('leaves the row alone for an empty PATCH: nothing written, no instance told', async () => {
    const [before] = await t.db.query<{ updated_at: Date }>('SELECT updated_at FROM settings');
    const answered = await t.http
      .patch('/admin/settings')
      .set('Authorization', adminAuth())
      .send({})
      .expect(200);
    const [after] = await t.db.query<{ updated_at: Date }>('SELECT updated_at FROM settings');
    expect(after.updated_at).toEqual(before.updated_at);
    expect(answered.body.updatedAt).toBe(before.updated_at.toISOString());
  });

  it.each([
    [{ maxTop: 0 }, 'maxTop'],
    [{ maxTop: 1.5 }, 'maxTop'],
    [{ apiEnabled: 'no' }, 'apiEnabled'],
    [{ debug: true }, 'debug'],
    [{ apiEnabled: null }, 'apiEnabled'],
    [{ maxTop: null }, 'maxTop'],
  ])('refuses %j with 400 naming %s', async (body, field) => {
    const response = await t.http
      .patch('/admin/settings')
      .set('Authorization', adminAuth())
      .send(body)
      .expect(400);
    expect(response.body.error.target).toBe(field);
  });
});
