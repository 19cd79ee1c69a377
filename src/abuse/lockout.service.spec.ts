import { Logger, ServiceUnavailableException } from '@nestjs/common';
import { AuthDeniedException } from '../auth/auth-denied.exception';
import { AuthResult } from '../auth/auth-result';
import type { AppConfig, AttemptPolicy } from '../config/app-config';
import type { AttemptStore } from './attempt-store';
import { clientAddress, countedAddress } from './client-address';
import { LockoutService } from './lockout.service';
import { MemoryAttemptStore } from './memory-attempt-store';

const ADDRESS = '192.0.2.10';

function config(
  lockout: Partial<AttemptPolicy> = {},
  ipBan: Partial<AttemptPolicy> = {},
  ipv6PrefixLength = 64,
) {
  return {
    lockout: { attempts: 3, windowSeconds: 300, durationSeconds: 900, ...lockout },
    ipBan: { attempts: 5, windowSeconds: 300, durationSeconds: 3600, ...ipBan },
    ipv6PrefixLength,
  } as AppConfig;
}

function service(cfg = config()) {
  const store = new MemoryAttemptStore();
  return { lockouts: new LockoutService(cfg, { primary: store }), store };
}

/** A Redis store whose Redis is gone: every call fails. */
function failingStore(): AttemptStore & { calls: number } {
  const store = {
    calls: 0,
    fail(): Promise<never> {
      store.calls += 1;
      return Promise.reject(new Error('Connection is closed.'));
    },
    mayHoldLocks: () => true,
    remainingMs: () => store.fail(),
    recordFailures: () => store.fail(),
    list: () => store.fail(),
    lift: () => store.fail(),
  };
  return store;
}

const denial = (reason: AuthResult) => new AuthDeniedException(reason);

describe('LockoutService', () => {
  it('locks a key at an address after its attempts, and only there', async () => {
    const { lockouts } = service();
    for (let i = 0; i < 2; i++) await lockouts.recordFailure('key-a', ADDRESS);
    expect(await lockouts.check(ADDRESS, 'key-a')).toBeUndefined();
    await lockouts.recordFailure('key-a', ADDRESS);
    expect(await lockouts.check(ADDRESS, 'key-a')).toEqual({
      reason: AuthResult.UserLocked,
      retryAfterSeconds: 900,
    });
    expect(await lockouts.check('192.0.2.11', 'key-a')).toBeUndefined();
    expect(await lockouts.check(ADDRESS, 'key-b')).toBeUndefined();
    expect(await lockouts.check(ADDRESS, undefined)).toBeUndefined();
  });

  it('bans an address that fails with many keys, before any lock (7 before 6)', async () => {
    const { lockouts } = service();
    for (let i = 0; i < 3; i++) await lockouts.recordFailure('key-a', ADDRESS);
    for (let i = 0; i < 2; i++) await lockouts.recordFailure(`other-${i}`, ADDRESS);
    const banned = { reason: AuthResult.ClientBlocked, retryAfterSeconds: 3600 };
    expect(await lockouts.check(ADDRESS, 'key-a')).toEqual(banned);
    expect(await lockouts.check(ADDRESS, 'never-tried')).toEqual(banned);
    expect(await lockouts.check(ADDRESS, undefined)).toEqual(banned);
    expect(await lockouts.check('192.0.2.11', undefined)).toBeUndefined();
  });

  it('counts an IPv6 client per /64: its other addresses share its locks and bans', async () => {
    const { lockouts } = service();
    for (let i = 1; i <= 3; i++) await lockouts.recordFailure('key-a', `2001:db8:1:2::${i}`);
    const sameNetwork = '2001:DB8:1:2:ffff:ffff:ffff:ffff';
    expect((await lockouts.check(sameNetwork, 'key-a'))?.reason).toBe(AuthResult.UserLocked);
    expect(await lockouts.check('2001:db8:1:3::1', 'key-a')).toBeUndefined();
    for (let i = 4; i <= 5; i++) await lockouts.recordFailure(`other-${i}`, `2001:db8:1:2::${i}`);
    expect((await lockouts.check(sameNetwork, 'never-tried'))?.reason).toBe(
      AuthResult.ClientBlocked,
    );
    expect(await lockouts.check('2001:db8:1:3::1', 'never-tried')).toBeUndefined();
    expect((await lockouts.list()).map((lock) => lock.address)).toEqual([
      '2001:db8:1:2::/64',
      '2001:db8:1:2::/64',
    ]);
  });

  it('counts each IPv6 address on its own with AUTH_IPV6_PREFIX_LENGTH=128', async () => {
    const { lockouts } = service(config({}, {}, 128));
    for (let i = 0; i < 3; i++) await lockouts.recordFailure('key-a', '2001:db8::1');
    expect((await lockouts.check('2001:DB8:0::1', 'key-a'))?.reason).toBe(AuthResult.UserLocked);
    expect(await lockouts.check('2001:db8::2', 'key-a')).toBeUndefined();
    expect((await lockouts.list())[0].address).toBe('2001:db8::1');
  });

  it('counts unknown keys, disabled users and wrong secrets, nothing else', async () => {
    const { lockouts, store } = service(config({ attempts: 1 }, { attempts: 0 }));
    for (const reason of [
      AuthResult.ApiDisabled,
      AuthResult.SslRequired,
      AuthResult.InvalidAuthorizationHeader,
      AuthResult.UserLocked,
      AuthResult.ClientBlocked,
    ]) {
      await lockouts.recordDenial(denial(reason), 'key', ADDRESS);
    }
    await lockouts.recordDenial(new Error('database down'), 'key', ADDRESS);
    expect(store.isEmpty).toBe(true);
    for (const [i, reason] of [
      AuthResult.UserUnknown,
      AuthResult.UserDisabled,
      AuthResult.InvalidCredentials,
    ].entries()) {
      await lockouts.recordDenial(denial(reason), `key-${i}`, ADDRESS);
      expect((await lockouts.check(ADDRESS, `key-${i}`))?.reason).toBe(AuthResult.UserLocked);
    }
  });

  it('switches each policy off with 0 attempts', async () => {
    const noLockout = service(config({ attempts: 0 }, { attempts: 2 })).lockouts;
    for (let i = 0; i < 2; i++) await noLockout.recordFailure('key', ADDRESS);
    expect((await noLockout.check(ADDRESS, 'key'))?.reason).toBe(AuthResult.ClientBlocked);

    const noBan = service(config({ attempts: 2 }, { attempts: 0 })).lockouts;
    for (let i = 0; i < 50; i++) await noBan.recordFailure(`key-${i}`, ADDRESS);
    expect(await noBan.check(ADDRESS, 'fresh')).toBeUndefined();
    await noBan.recordFailure('key-0', ADDRESS);
    expect((await noBan.check(ADDRESS, 'key-0'))?.reason).toBe(AuthResult.UserLocked);

    const { lockouts, store } = service(config({ attempts: 0 }, { attempts: 0 }));
    for (let i = 0; i < 50; i++) await lockouts.recordFailure('key', ADDRESS);
    expect(await lockouts.check(ADDRESS, 'key')).toBeUndefined();
    expect(store.isEmpty).toBe(true);
  });

  it('looks nothing up while no store may hold a lock, and asks one that may every time', async () => {
    const lookups: number[] = [];
    const store = (mayHoldLocks: boolean): AttemptStore => ({
      mayHoldLocks: () => mayHoldLocks,
      remainingMs: (subjects) => {
        lookups.push(subjects.length);
        return Promise.resolve(subjects.map(() => 0));
      },
      recordFailures: () => Promise.resolve(),
      list: () => Promise.resolve([]),
      lift: () => Promise.resolve(false),
    });
    const idle = new LockoutService(config(), { primary: store(false) });
    expect(await idle.check(ADDRESS, 'key')).toBeUndefined();
    expect(lookups).toEqual([]);

    const shared = new LockoutService(config(), { primary: store(true) });
    expect(await shared.check(ADDRESS, 'key')).toBeUndefined();
    expect(await shared.check(ADDRESS, undefined)).toBeUndefined();
    expect(lookups).toEqual([2, 1]);
  });

  it('lists locks and bans for the admin API and lifts them by id', async () => {
    const { lockouts } = service(config({ attempts: 1 }, { attempts: 1, durationSeconds: 60 }));
    await lockouts.recordFailure('key-a', ADDRESS);
    const list = await lockouts.list();
    expect(list).toEqual([
      {
        id: expect.stringMatching(/^[0-9a-f]{32}$/),
        kind: 'key',
        publicKey: 'key-a',
        address: ADDRESS,
        lockedUntil: expect.any(String),
        retryAfterSeconds: 900,
      },
      {
        id: expect.stringMatching(/^[0-9a-f]{32}$/),
        kind: 'address',
        address: ADDRESS,
        lockedUntil: expect.any(String),
        retryAfterSeconds: 60,
      },
    ]);
    const until = Date.parse(list[0].lockedUntil) - Date.now();
    expect(until).toBeGreaterThan(890_000);
    expect(until).toBeLessThanOrEqual(900_000);
    expect(list[1]).not.toHaveProperty('publicKey');

    expect(await lockouts.lift(list[1].id)).toBe(true);
    expect((await lockouts.check(ADDRESS, 'key-a'))?.reason).toBe(AuthResult.UserLocked);
    expect(await lockouts.lift(list[0].id)).toBe(true);
    expect(await lockouts.check(ADDRESS, 'key-a')).toBeUndefined();
    expect(await lockouts.lift(list[0].id)).toBe(false);
    expect(await lockouts.lift('not-an-id')).toBe(false);
    expect(await lockouts.list()).toEqual([]);
  });

  describe('while Redis fails', () => {
    // The service warns (once per 30 s); keep the test output quiet.
    beforeAll(() => Logger.overrideLogger(false));
    afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));

    function withFailingRedis() {
      const primary = failingStore();
      const fallback = new MemoryAttemptStore();
      return { lockouts: new LockoutService(config(), { primary, fallback }), primary, fallback };
    }

    it('neither throws nor lets a request through unlocked: it counts in memory', async () => {
      const { lockouts, primary, fallback } = withFailingRedis();
      await expect(lockouts.check(ADDRESS, 'key')).resolves.toBeUndefined();
      for (let i = 0; i < 3; i++) await lockouts.recordFailure('key', ADDRESS);
      expect(fallback.isEmpty).toBe(false);
      expect((await lockouts.check(ADDRESS, 'key'))?.reason).toBe(AuthResult.UserLocked);
      expect(primary.calls).toBeGreaterThanOrEqual(5);
    });

    it('answers the admin API with 503 rather than a partial list', async () => {
      const { lockouts } = withFailingRedis();
      await expect(lockouts.list()).rejects.toBeInstanceOf(ServiceUnavailableException);
      await expect(lockouts.lift('0'.repeat(32))).rejects.toBeInstanceOf(
        ServiceUnavailableException,
      );
    });

    it('keeps a lock made in memory after Redis is back, and lists and lifts it', async () => {
      const redis = new MemoryAttemptStore(); // stands in for a Redis that works again
      const primary = failingStore();
      const fallback = new MemoryAttemptStore();
      const stores = { primary: primary as AttemptStore, fallback };
      const lockouts = new LockoutService(config(), stores);
      for (let i = 0; i < 3; i++) await lockouts.recordFailure('key', ADDRESS);
      stores.primary = redis;
      expect((await lockouts.check(ADDRESS, 'key'))?.reason).toBe(AuthResult.UserLocked);
      const [entry] = await lockouts.list();
      expect(entry).toMatchObject({ kind: 'key', publicKey: 'key', address: ADDRESS });
      expect(await lockouts.lift(entry.id)).toBe(true);
      expect(await lockouts.check(ADDRESS, 'key')).toBeUndefined();
    });
  });
});

describe('clientAddress', () => {
  it.each([
    [{ ip: '203.0.113.7', socket: { remoteAddress: '127.0.0.1' } }, '203.0.113.7'],
    [{ socket: { remoteAddress: '::1' } }, '::1'],
    [{}, 'unknown'],
  ])('reads %j as %s', (request, expected) => {
    expect(clientAddress(request)).toBe(expected);
  });
});

describe('countedAddress', () => {
  it.each([
    ['203.0.113.7', 64, '203.0.113.7'],
    ['::ffff:203.0.113.7', 64, '203.0.113.7'],
    ['::FFFF:203.0.113.7', 128, '203.0.113.7'],
    ['::ffff:cb00:7107', 64, '203.0.113.7'],
    ['2001:DB8:0:0:1::5', 64, '2001:db8::/64'],
    ['2001:db8:1:2:3:4:5:6', 64, '2001:db8:1:2::/64'],
    ['2001:db8:1:2:3:4:5:6', 48, '2001:db8:1::/48'],
    ['2001:db8:1:2:3:4:5:6', 33, '2001:db8::/33'],
    ['2001:db8:ffff:ffff::1', 33, '2001:db8:8000::/33'],
    ['2001:db8:1:2:3:4:5:6', 127, '2001:db8:1:2:3:4:5:6/127'],
    ['2001:db8:1:2:3:4:5:7', 127, '2001:db8:1:2:3:4:5:6/127'],
    ['2001:DB8:0:0:1::5', 128, '2001:db8::1:0:0:5'],
    ['fe80::1%eth0', 128, 'fe80::1'],
    ['::1', 64, '::/64'],
    ['unknown', 64, 'unknown'],
    ['not:an:address', 64, 'not:an:address'],
  ])('counts %s (prefix %i) as %s', (address, prefix, expected) => {
    expect(countedAddress(address, prefix)).toBe(expected);
  });
});
