import { jest } from '@jest/globals';
import { basic, createTestApp, TestApp } from './support/test-app';
import { createTestDatabase, TestDatabase } from './support/test-database';

describe('the bootstrap admin', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(() => db.drop());

  async function startCapturingStdout(
    env: Record<string, string>,
  ): Promise<{ t: TestApp; printed: string }> {
    const writes: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      writes.push(String(chunk));
      return true;
    });
    try {
      const t = await createTestApp(env, db);
      return { t, printed: writes.join('') };
    } finally {
      spy.mockRestore();
    }
  }

  it('is generated on a database without an admin, printed once plainly, and works', async () => {
    const noKeys = { ADMIN_PUBLIC_KEY: '', ADMIN_SECRET_KEY: '' };
    const first = await startCapturingStdout(noKeys);
    const publicKey = /public key:\s+([0-9a-f]{32})/.exec(first.printed)?.[1];
    const secretKey = /secret key:\s+([0-9a-f]{64})/.exec(first.printed)?.[1];
    expect(publicKey).toBeDefined();
    expect(secretKey).toBeDefined();
    const settings = await first.t.http
      .get('/admin/settings')
      .set('Authorization', basic(publicKey!, secretKey!))
      .expect(200);
    expect(settings.body.apiEnabled).toBe(true);
    await first.t.close();

    const second = await startCapturingStdout(noKeys);
    expect(second.printed).not.toContain('secret key');
    await second.t.close();
    const admins = await db.query(`SELECT id FROM api_users WHERE 'admin' = ANY(roles)`);
    expect(admins).toHaveLength(1);
  });

  it('is created from ADMIN_PUBLIC_KEY / ADMIN_SECRET_KEY without printing the secret', async () => {
    const keys = {
      ADMIN_PUBLIC_KEY: 'my-chosen-admin-key',
      ADMIN_SECRET_KEY: 'my-chosen-admin-secret:with-colon',
    };
    const { t, printed } = await startCapturingStdout(keys);
    expect(printed).not.toContain(keys.ADMIN_SECRET_KEY);
    await t.http
      .get('/admin/api-users')
      .set('Authorization', basic(keys.ADMIN_PUBLIC_KEY, keys.ADMIN_SECRET_KEY))
      .expect(200);
    await t.close();
    const [row] = await db.query<{ roles: string[]; secret_hash: string }>(
      'SELECT roles, secret_hash FROM api_users WHERE public_key = $1',
      [keys.ADMIN_PUBLIC_KEY],
    );
    expect(row.roles).toEqual(['admin', 'read', 'write']);
    expect(row.secret_hash).not.toContain(keys.ADMIN_SECRET_KEY);
  });
});
