import { addressSubject, AttemptRule, keySubject, LOCK_ID_PATTERN } from './attempt-store';
import { MemoryAttemptStore } from './memory-attempt-store';

const rule: AttemptRule = { attempts: 3, windowMs: 10_000, durationMs: 60_000 };

function setUp(options: { maxCounters?: number; maxLocks?: number } = {}) {
  const clock = { now: 1_000_000 };
  const store = new MemoryAttemptStore({ ...options, now: () => clock.now });
  return { store, clock };
}

describe('lock subjects', () => {
  it('derive stable 32-hex ids from kind, address and public key', () => {
    const a = keySubject('public-key', '10.0.0.1');
    expect(a.id).toMatch(LOCK_ID_PATTERN);
    expect(keySubject('public-key', '10.0.0.1')).toEqual(a);
    expect(keySubject('public-key', '10.0.0.2').id).not.toBe(a.id);
    expect(keySubject('other-key', '10.0.0.1').id).not.toBe(a.id);
    expect(addressSubject('10.0.0.1').id).not.toBe(a.id);
    expect(addressSubject('10.0.0.1')).toEqual({
      id: expect.stringMatching(LOCK_ID_PATTERN),
      kind: 'address',
      address: '10.0.0.1',
    });
  });

  it('clip what they show, but tell long keys apart by the whole key', () => {
    const long = 'k'.repeat(3000);
    const subject = keySubject(long, '10.0.0.1');
    expect(subject.publicKey!.length).toBeLessThanOrEqual(256);
    expect(subject.publicKey!.endsWith('…')).toBe(true);
    expect(keySubject(`${long}x`, '10.0.0.1').id).not.toBe(subject.id);
  });
});

describe('MemoryAttemptStore', () => {
  const key = keySubject('public-key', '10.0.0.1');

  it('locks a subject on the failure that reaches the attempts, not before', async () => {
    const { store } = setUp();
    await store.recordFailures([{ subject: key, rule }]);
    await store.recordFailures([{ subject: key, rule }]);
    expect(await store.remainingMs([key])).toEqual([0]);
    await store.recordFailures([{ subject: key, rule }]);
    expect(await store.remainingMs([key])).toEqual([60_000]);
  });

  it('counts within a fixed window opened by the first failure', async () => {
    const { store, clock } = setUp();
    await store.recordFailures([{ subject: key, rule }]);
    await store.recordFailures([{ subject: key, rule }]);
    clock.now += 10_000; // the window is over: the count starts again
    await store.recordFailures([{ subject: key, rule }]);
    await store.recordFailures([{ subject: key, rule }]);
    expect(await store.remainingMs([key])).toEqual([0]);
    await store.recordFailures([{ subject: key, rule }]);
    expect((await store.remainingMs([key]))[0]).toBeGreaterThan(0);
  });

  it('ends a lock on its own, and counts afresh after it', async () => {
    const { store, clock } = setUp();
    for (let i = 0; i < 3; i++) await store.recordFailures([{ subject: key, rule }]);
    clock.now += 59_999;
    expect(await store.remainingMs([key])).toEqual([1]);
    clock.now += 1;
    expect(await store.remainingMs([key])).toEqual([0]);
    expect(await store.list()).toEqual([]);
    await store.recordFailures([{ subject: key, rule }]);
    expect(await store.remainingMs([key])).toEqual([0]);
  });

  it('tells whether it may hold a lock: not for counters alone, nor once every lock expired', async () => {
    const { store, clock } = setUp();
    expect(store.mayHoldLocks()).toBe(false);
    await store.recordFailures([{ subject: key, rule }]);
    expect(store.mayHoldLocks()).toBe(false);
    for (let i = 0; i < 2; i++) await store.recordFailures([{ subject: key, rule }]);
    expect(store.mayHoldLocks()).toBe(true);
    clock.now += 59_999;
    expect(store.mayHoldLocks()).toBe(true);
    clock.now += 1;
    expect(store.mayHoldLocks()).toBe(false);
    expect(store.size.locks).toBe(0);
  });

  it('counts each subject of one failure by its own rule', async () => {
    const { store } = setUp();
    const address = addressSubject('10.0.0.1');
    const banRule = { attempts: 5, windowMs: 10_000, durationMs: 120_000 };
    for (let i = 0; i < 5; i++) {
      await store.recordFailures([
        { subject: address, rule: banRule },
        { subject: keySubject(`key-${i}`, '10.0.0.1'), rule },
      ]);
    }
    expect(await store.remainingMs([address, keySubject('key-0', '10.0.0.1')])).toEqual([
      120_000, 0,
    ]);
  });

  it('lists current locks with their subject and remaining time, and lifts them by id', async () => {
    const { store, clock } = setUp();
    const address = addressSubject('10.0.0.9');
    for (let i = 0; i < 3; i++) {
      await store.recordFailures([
        { subject: key, rule },
        { subject: address, rule },
      ]);
    }
    clock.now += 1000;
    expect(await store.list()).toEqual(
      expect.arrayContaining([
        { ...key, remainingMs: 59_000 },
        { ...address, remainingMs: 59_000 },
      ]),
    );
    expect(await store.lift(key.id)).toBe(true);
    expect(await store.lift(key.id)).toBe(false);
    expect(await store.remainingMs([key, address])).toEqual([0, 59_000]);
    expect(await store.list()).toEqual([{ ...address, remainingMs: 59_000 }]);
    expect(await store.lift('0'.repeat(32))).toBe(false);
  });

  it('does not lift an expired lock (404 for the admin), and forgets it', async () => {
    const { store, clock } = setUp();
    for (let i = 0; i < 3; i++) await store.recordFailures([{ subject: key, rule }]);
    clock.now += 60_000;
    expect(await store.lift(key.id)).toBe(false);
    expect(store.size).toEqual({ counters: 0, locks: 0 });
  });

  it('stays bounded: beyond its caps it drops the oldest counters and locks', async () => {
    const { store } = setUp({ maxCounters: 100, maxLocks: 10 });
    const once = { attempts: 1, windowMs: 10_000, durationMs: 60_000 };
    for (let i = 0; i < 1000; i++) {
      await store.recordFailures([{ subject: keySubject(`k${i}`, '10.0.0.1'), rule }]);
      await store.recordFailures([
        { subject: addressSubject(`10.1.${i >> 8}.${i & 255}`), rule: once },
      ]);
    }
    expect(store.size.counters).toBeLessThanOrEqual(100);
    expect(store.size.locks).toBeLessThanOrEqual(10);
    // The newest are kept, the oldest went.
    const newest = addressSubject('10.1.3.231'); // i = 999
    const oldest = addressSubject('10.1.0.0');
    expect(await store.remainingMs([newest, oldest])).toEqual([60_000, 0]);
  });

  it('sweeps expired entries as new ones arrive, without timers', async () => {
    const { store, clock } = setUp();
    for (let i = 0; i < 50; i++) {
      await store.recordFailures([{ subject: keySubject(`k${i}`, '10.0.0.1'), rule }]);
    }
    expect(store.size.counters).toBe(50);
    clock.now += 10_000;
    await store.recordFailures([{ subject: key, rule }]);
    expect(store.size.counters).toBe(1);
    expect(store.isEmpty).toBe(false);
  });

  it('re-locking a subject moves it to the end, so sweeping still finds every expired lock', async () => {
    const { store, clock } = setUp();
    const other = keySubject('other', '10.0.0.1');
    const once = { attempts: 1, windowMs: 10_000, durationMs: 60_000 };
    await store.recordFailures([{ subject: key, rule: once }]); // until 60 s
    clock.now += 10_000;
    await store.recordFailures([{ subject: other, rule: once }]); // until 70 s
    clock.now += 20_000;
    await store.recordFailures([{ subject: key, rule: once }]); // renewed: until 90 s
    clock.now += 45_000; // 75 s: other's lock is over, key's is not
    await store.recordFailures([{ subject: keySubject('x', '10.0.0.1'), rule: once }]);
    expect(store.size.locks).toBe(2); // key and x; other was swept
    expect(await store.remainingMs([key, other])).toEqual([15_000, 0]);
  });
});
