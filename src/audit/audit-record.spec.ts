import { ForbiddenException, NotFoundException } from '@nestjs/common';
import { AuthDeniedException } from '../auth/auth-denied.exception';
import { AuthResult } from '../auth/auth-result';
import {
  adminRecord,
  AUDIT_REASONS,
  AuditedRequest,
  clientAddress,
  clip,
  denialRecord,
} from './audit-record';

const SECRET = 'never-store-this-secret-0123456789';
const basic = (credentials: string) =>
  `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;

function request(overrides: Partial<AuditedRequest> = {}): AuditedRequest {
  return {
    method: 'GET',
    url: '/odata/v1/Customers?$top=1',
    ip: '203.0.113.9',
    headers: { authorization: basic(`the-public-key:${SECRET}`) },
    ...overrides,
  };
}

const at = new Date('2025-11-24T10:00:00.000Z');

describe('denialRecord', () => {
  it.each([
    AuthResult.ApiDisabled,
    AuthResult.SslRequired,
    AuthResult.InvalidCredentials,
    AuthResult.UserUnknown,
    AuthResult.UserDisabled,
    AuthResult.UserLocked,
    AuthResult.ClientBlocked,
  ])('records reason %i by name with the presented public key only', (reason) => {
    const record = denialRecord(new AuthDeniedException(reason), request(), at);
    expect(record).toEqual({
      occurredAt: at,
      kind: 'denial',
      publicKey: 'the-public-key',
      clientAddress: '203.0.113.9',
      reason: AuthResult[reason],
      action: null,
      target: null,
      actor: null,
      details: { method: 'GET', path: '/odata/v1/Customers' },
    });
    expect(JSON.stringify(record)).not.toContain(SECRET);
  });

  it.each([
    ['no header', undefined],
    ['another scheme', 'Bearer abc'],
    ['bad base64', 'Basic !!!'],
    ['no colon', basic('only-a-key')],
  ])('has no public key for %s', (_, authorization) => {
    const record = denialRecord(
      new AuthDeniedException(AuthResult.InvalidAuthorizationHeader),
      request({ headers: { authorization } }),
    );
    expect(record?.reason).toBe('InvalidAuthorizationHeader');
    expect(record?.publicKey).toBeNull();
  });

  it("records the role check's 403 with the authenticated user's key", () => {
    const record = denialRecord(
      new ForbiddenException({ code: 'Forbidden', message: 'x' }),
      request({ user: { publicKey: 'reader-key' }, headers: {} }),
    );
    expect(record?.reason).toBe('Forbidden');
    expect(record?.publicKey).toBe('reader-key');
  });

  it('ignores everything else, and a 403 without a user', () => {
    expect(denialRecord(new NotFoundException(), request())).toBeUndefined();
    expect(denialRecord(new Error('boom'), request())).toBeUndefined();
    expect(denialRecord(new ForbiddenException(), request())).toBeUndefined();
  });

  it('cuts an absurd public key to the column size and drops control characters', () => {
    const record = denialRecord(
      new AuthDeniedException(AuthResult.UserUnknown),
      request({ headers: { authorization: basic(`${'k'.repeat(1000)}:${SECRET}`) } }),
    );
    expect(record?.publicKey).toBe('k'.repeat(128));
  });

  it('lists every reason it can record', () => {
    expect(AUDIT_REASONS).toEqual([
      'ApiDisabled',
      'SslRequired',
      'InvalidAuthorizationHeader',
      'InvalidCredentials',
      'UserUnknown',
      'UserDisabled',
      'UserLocked',
      'ClientBlocked',
      'Forbidden',
      'RateLimitExceeded',
      'QuotaExceeded',
    ]);
  });
});

describe('adminRecord', () => {
  const admin = { publicKey: 'admin-key' };

  it('names the actor, the route id as target and the body fields, never string values', () => {
    const record = adminRecord(
      'api-users.update',
      request({
        method: 'PATCH',
        user: admin,
        params: { id: 'user-1' },
        body: { name: 'New name', enabled: false, roles: ['read', 'admin'], maxTop: 7 },
      }),
      { id: 'user-1', name: 'New name' },
      at,
    );
    expect(record).toEqual({
      occurredAt: at,
      kind: 'admin',
      publicKey: 'admin-key',
      clientAddress: '203.0.113.9',
      reason: null,
      action: 'api-users.update',
      target: 'user-1',
      actor: 'admin-key',
      details: {
        fields: ['enabled', 'maxTop', 'name', 'roles'],
        values: { enabled: false, roles: ['read', 'admin'], maxTop: 7 },
      },
    });
  });

  it('never copies a secret: not from the body, not from the answer', () => {
    const record = adminRecord(
      'api-users.create',
      request({
        method: 'POST',
        user: admin,
        body: { name: 'x', publicKey: 'imported-key', secretKey: SECRET },
      }),
      { id: 'new-id', publicKey: 'imported-key', secretKey: SECRET },
    );
    expect(record.target).toBe('new-id');
    expect(record.details).toEqual({ fields: ['name', 'publicKey', 'secretKey'] });
    expect(JSON.stringify(record)).not.toContain(SECRET);
  });

  it('has neither target nor details when there are none', () => {
    const record = adminRecord('settings.update', request({ user: admin }), undefined);
    expect(record.target).toBeNull();
    expect(record.details).toBeNull();
  });

  it('takes a role list only when it looks like one', () => {
    const record = adminRecord(
      'x.y',
      request({ user: admin, body: { roles: [SECRET] } }),
      undefined,
    );
    expect(record.details).toEqual({ fields: ['roles'] });
  });
});

describe('clientAddress', () => {
  it.each([
    ['203.0.113.9', '203.0.113.9'],
    ['::1', '::1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::ffff:7f00:1', '127.0.0.1'],
    ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
    ['127.1', null],
    ['2001:DB8::1', '2001:db8::1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['not-an-address', null],
    ['', null],
    [undefined, null],
  ])('%s -> %s', (ip, expected) => {
    expect(clientAddress(ip)).toBe(expected);
  });
});

describe('clip', () => {
  it('counts characters, not UTF-16 units, and replaces control characters', () => {
    expect(clip('a\u0000b\nc', 10)).toBe('a?b?c');
    // A lone surrogate (jsonb refuses its escape) becomes U+FFFD; a pair stays.
    expect(clip('a\ud800b\udc00c\ud83d\ude00', 10)).toBe('a\ufffdb\ufffdc😀');
    expect(clip('😀😀😀', 2)).toBe('😀😀');
    expect(clip('short', 10)).toBe('short');
  });
});
