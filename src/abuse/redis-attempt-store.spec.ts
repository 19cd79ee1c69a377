import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import type Redis from 'ioredis';
import { keySubject } from './attempt-store';
import { REDIS_ABUSE_PREFIX, RedisAttemptStore } from './redis-attempt-store';

/**
 * When the store asks Redis about locks, with its connections stood in for. The commands
 * themselves (the script, the lookups) run against a real Redis in test/lockout-redis.e2e-spec.ts.
 */

const CHANNEL = `${REDIS_ABUSE_PREFIX}locked`;

/** The listening connection: ioredis's events, driven by the test. */
class FakeSubscriber extends EventEmitter {
  status = 'wait';
  failSubscribe = false;
  /** When true, connect() answers only once `answerConnect()` is called (a silent Redis). */
  silent = false;
  channels: string[] = [];
  private pendingConnect?: () => void;

  connect(): Promise<void> {
    if (this.silent) {
      this.status = 'connect';
      return new Promise((resolve) => (this.pendingConnect = resolve));
    }
    this.status = 'ready';
    this.emit('ready');
    return Promise.resolve();
  }

  answerConnect(): void {
    this.status = 'ready';
    this.emit('ready');
    this.pendingConnect?.();
  }

  subscribe(channel: string): Promise<number> {
    if (this.failSubscribe) return Promise.reject(new Error('Connection is closed.'));
    this.channels.push(channel);
    return Promise.resolve(1);
  }

  quit(): Promise<'OK'> {
    this.status = 'end';
    this.emit('close');
    return Promise.resolve('OK');
  }

  drop(): void {
    this.status = 'reconnecting';
    this.emit('close');
  }

  reconnect(): void {
    this.status = 'ready';
    this.emit('ready');
  }

  announce(ms: number): void {
    this.emit('message', CHANNEL, String(ms));
  }
}

function setUp() {
  const subscriber = new FakeSubscriber();
  const redis = {
    /** What PTTL answers for the any-lock key (-2: no such key). */
    anyLockMs: -2,
    /** What the counting script answers: the longest lock it set (0: none). */
    lockSetMs: 0,
    defineCommand: () => undefined,
    duplicate: () => subscriber,
    pttl: () => Promise.resolve(redis.anyLockMs),
    gatehouseRecordFailures: () => Promise.resolve(redis.lockSetMs),
  };
  const store = new RedisAttemptStore(redis as unknown as Redis);
  return { store, subscriber, redis };
}

/** Lets the store's pending promise callbacks run. */
const settle = () => jest.advanceTimersByTimeAsync(0);

describe('RedisAttemptStore: when it asks Redis about locks', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));
  beforeEach(() => jest.useFakeTimers({ now: Date.parse('2026-12-03T08:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  it('on every request until it listens; then not while no lock is announced', async () => {
    const { store, subscriber } = setUp();
    expect(store.mayHoldLocks()).toBe(true);
    await store.listen(1000);
    expect(subscriber.channels).toEqual([CHANNEL]);
    expect(store.mayHoldLocks()).toBe(false);
  });

  it('on every request while its connection hangs, without holding up listen() beyond its wait', async () => {
    const { store, subscriber } = setUp();
    subscriber.silent = true;
    let returned = false;
    void store.listen(1000).then(() => (returned = true));
    await jest.advanceTimersByTimeAsync(999);
    expect(returned).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(returned).toBe(true);
    expect(store.mayHoldLocks()).toBe(true);
    subscriber.answerConnect();
    await settle();
    expect(subscriber.channels).toEqual([CHANNEL]);
    expect(store.mayHoldLocks()).toBe(false);
  });

  it('after an announcement, until that lock may have ended', async () => {
    const { store, subscriber } = setUp();
    await store.listen(1000);
    subscriber.announce(2000);
    subscriber.emit('message', 'some:other:channel', '999999');
    jest.advanceTimersByTime(1999);
    expect(store.mayHoldLocks()).toBe(true);
    jest.advanceTimersByTime(1);
    expect(store.mayHoldLocks()).toBe(false);
  });

  it('for as long as any-lock lasts when it starts listening (locks set before it started)', async () => {
    const { store, redis } = setUp();
    redis.anyLockMs = 5000;
    await store.listen(1000);
    jest.advanceTimersByTime(4999);
    expect(store.mayHoldLocks()).toBe(true);
    jest.advanceTimersByTime(1);
    expect(store.mayHoldLocks()).toBe(false);
  });

  it('at once for a lock it set itself, before its own announcement comes back', async () => {
    const { store, redis } = setUp();
    await store.listen(1000);
    redis.lockSetMs = 900_000;
    const subject = keySubject('key', '192.0.2.1');
    await store.recordFailures([
      { subject, rule: { attempts: 1, windowMs: 1000, durationMs: 900_000 } },
    ]);
    expect(store.mayHoldLocks()).toBe(true);
    jest.advanceTimersByTime(900_000);
    expect(store.mayHoldLocks()).toBe(false);
  });

  it('on every request while its connection is down; back, after reading what it missed', async () => {
    const { store, subscriber, redis } = setUp();
    await store.listen(1000);
    subscriber.drop();
    expect(store.mayHoldLocks()).toBe(true);
    subscriber.reconnect();
    await settle();
    expect(store.mayHoldLocks()).toBe(false);

    subscriber.drop();
    redis.anyLockMs = 60_000; // a lock set while it was away: its announcement is lost
    subscriber.reconnect();
    await settle();
    expect(store.mayHoldLocks()).toBe(true);
    jest.advanceTimersByTime(60_000);
    expect(store.mayHoldLocks()).toBe(false);
  });

  it('on every request while it cannot subscribe, trying again every second', async () => {
    const { store, subscriber } = setUp();
    subscriber.failSubscribe = true;
    await store.listen(1000);
    expect(store.mayHoldLocks()).toBe(true);
    await jest.advanceTimersByTimeAsync(1000);
    expect(store.mayHoldLocks()).toBe(true);
    subscriber.failSubscribe = false;
    await jest.advanceTimersByTimeAsync(1000);
    expect(store.mayHoldLocks()).toBe(false);
  });

  it('on every request again once closed, and quits its connection', async () => {
    const { store, subscriber } = setUp();
    await store.listen(1000);
    await store.close();
    expect(subscriber.status).toBe('end');
    expect(store.mayHoldLocks()).toBe(true);
    subscriber.reconnect(); // a late event changes nothing
    await settle();
    expect(store.mayHoldLocks()).toBe(true);
  });
});
