import request from 'supertest';
import { adminAuth, basic, TestApp } from './test-app';

/** A lock or ban as `GET /admin/lockouts` lists it. */
export interface LockView {
  id: string;
  kind: 'key' | 'address';
  publicKey?: string;
  address: string;
  lockedUntil: string;
  retryAfterSeconds: number;
}

/** `GET /odata/v1` with these credentials (none when undefined), from `address` when given. */
export function get(t: TestApp, authorization: string | undefined, address?: string): request.Test {
  const req = t.http.get('/odata/v1');
  if (authorization !== undefined) req.set('Authorization', authorization);
  if (address !== undefined) req.set('X-Forwarded-For', address);
  return req;
}

/** `times` wrong secrets for `publicKey` from `address`, each a 401. */
export async function fail(t: TestApp, publicKey: string, address: string, times = 1) {
  for (let i = 0; i < times; i++) {
    const response = await get(t, basic(publicKey, `wrong-secret-${i}-0123456789`), address);
    expect(response.status).toBe(401);
  }
}

export async function listLocks(t: TestApp): Promise<LockView[]> {
  const response = await t.http
    .get('/admin/lockouts')
    .set('Authorization', adminAuth())
    .expect(200);
  return (response.body as { value: LockView[] }).value;
}
