import { jest } from '@jest/globals';
import { DatabaseStatus, PROBE_INTERVAL_MS, SLOW_READ_MS } from './database-status';
import { ReadThroughCache } from './read-through-cache';

interface Row {
  name: string;
}

interface Options {
  ttlMs?: number;
  staleMs?: number;
  maxEntries?: number;
  /** The TTL jitter's random numbers, one per entry stored, in turn; none: no jitter. */
  randoms?: number[];
}

function setUp(options: Options = {}) {
  const feed = { listening: true, version: 0 };
  let now = 1_000_000;
  const stale: unknown[] = [];
  const randoms = [...(options.randoms ?? [])];
  const database = new DatabaseStatus(() => now);
  const cache = new ReadThroughCache<Row>(feed, database, {
    ttlMs: options.ttlMs ?? 60_000,
    staleMs: options.staleMs ?? 300_000,
    maxEntries: options.maxEntries ?? 10,
    onStale: (error) => stale.push(error),
    now: () => now,
    random: () => randoms.shift() ?? 0,
  });
  const reads: string[] = [];
  let answer: Row | null | Error = { name: 'v1' };
  const load = (key: string) => () => {
    reads.push(key);
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  };
  return {
    cache,
    feed,
    database,
    reads,
    stale,
    load,
    answer: (next: Row | null | Error) => (answer = next),
    advance: (ms: number) => (now += ms),
    now: () => now,
  };
}

describe('ReadThroughCache', () => {
  it('reads once, then answers from memory while the feed listens', async () => {
    const t = setUp();
    expect(await t.cache.get('k', t.load('k'))).toEqual({ name: 'v1' });
    t.answer({ name: 'v2' });
    expect(await t.cache.get('k', t.load('k'))).toEqual({ name: 'v1' });
    expect(t.reads).toEqual(['k']);
  });

  it('reads again once the safety TTL has passed', async () => {
    const t = setUp({ ttlMs: 1000 });
    await t.cache.get('k', t.load('k'));
    t.answer({ name: 'v2' });
    t.advance(999);
    expect(await t.cache.get('k', t.load('k'))).toEqual({ name: 'v1' });
    t.advance(1);
    expect(await t.cache.get('k', t.load('k'))).toEqual({ name: 'v2' });
  });

  it("shortens each entry's TTL by up to a tenth, at random, so entries read together expire apart", async () => {
    const t = setUp({ ttlMs: 1000, randoms: [0, 0.5] });
    await t.cache.get('a', t.load('a')); // fresh for 1000 ms
    await t.cache.get('b', t.load('b')); // fresh for 950 ms
    t.advance(949);
    await t.cache.get('a', t.load('a'));
    await t.cache.get('b', t.load('b'));
    expect(t.reads).toEqual(['a', 'b']);
    t.advance(1);
    await t.cache.get('a', t.load('a'));
    await t.cache.get('b', t.load('b'));
    expect(t.reads).toEqual(['a', 'b', 'b']);
    t.advance(50);
    await t.cache.get('a', t.load('a'));
    expect(t.reads).toEqual(['a', 'b', 'b', 'a']);
  });

  describe('requests for a key that is being read', () => {
    /** A read that answers when told to, counted in `reads`. */
    function slowReads(t: ReturnType<typeof setUp>) {
      const pending: Array<{ resolve: (row: Row) => void; reject: (error: Error) => void }> = [];
      const load = () => {
        t.reads.push('k');
        return new Promise<Row>((resolve, reject) => pending.push({ resolve, reject }));
      };
      return { load, pending };
    }

    it('share that read, and its answer', async () => {
      const t = setUp();
      const slow = slowReads(t);
      const first = t.cache.get('k', slow.load);
      const second = t.cache.get('k', slow.load);
      slow.pending[0].resolve({ name: 'v1' });
      const answers = await Promise.all([first, second]);
      expect(answers[1]).toBe(answers[0]);
      expect(await t.cache.get('k', slow.load)).toBe(answers[0]);
      expect(t.reads).toEqual(['k']);
    });

    it('share its failure', async () => {
      const t = setUp();
      const slow = slowReads(t);
      const first = t.cache.get('k', slow.load);
      const second = t.cache.get('k', slow.load);
      const down = new Error('down');
      slow.pending[0].reject(down);
      await expect(first).rejects.toBe(down);
      await expect(second).rejects.toBe(down);
      expect(t.reads).toEqual(['k']);
    });

    it('read again once a notification arrived since it started, or after delete', async () => {
      const t = setUp();
      const slow = slowReads(t);
      const before = t.cache.get('k', slow.load);
      t.feed.version++; // a change is announced while the old row is on its way
      const afterNotification = t.cache.get('k', slow.load);
      t.cache.delete('k');
      const afterDelete = t.cache.get('k', slow.load);
      slow.pending[0].resolve({ name: 'old' });
      slow.pending[1].resolve({ name: 'new' });
      slow.pending[2].resolve({ name: 'newer' });
      expect(await before).toEqual({ name: 'old' });
      expect(await afterNotification).toEqual({ name: 'new' });
      expect(await afterDelete).toEqual({ name: 'newer' });
      expect(t.reads).toEqual(['k', 'k', 'k']);
    });
  });

  it('reads again after delete and clear', async () => {
    const t = setUp();
    await t.cache.get('k', t.load('k'));
    t.answer({ name: 'v2' });
    t.cache.delete('k');
    expect(await t.cache.get('k', t.load('k'))).toEqual({ name: 'v2' });
    t.answer({ name: 'v3' });
    t.cache.clear();
    expect(await t.cache.get('k', t.load('k'))).toEqual({ name: 'v3' });
  });

  it('trusts nothing while the feed is not listening', async () => {
    const t = setUp();
    await t.cache.get('k', t.load('k'));
    t.feed.listening = false;
    t.answer({ name: 'v2' });
    expect(await t.cache.get('k', t.load('k'))).toEqual({ name: 'v2' });
    expect(t.reads).toHaveLength(2);
  });

  it('with a TTL of 0 reads every time', async () => {
    const t = setUp({ ttlMs: 0 });
    await t.cache.get('k', t.load('k'));
    await t.cache.get('k', t.load('k'));
    expect(t.reads).toHaveLength(2);
  });

  it('does not cache absence', async () => {
    const t = setUp();
    t.answer(null);
    expect(await t.cache.get('k', t.load('k'))).toBeNull();
    t.answer({ name: 'created' });
    expect(await t.cache.get('k', t.load('k'))).toEqual({ name: 'created' });
  });

  it('keeps nothing a notification may have overtaken during the read', async () => {
    const t = setUp();
    let finishRead!: (row: Row) => void;
    const slowRead = () => new Promise<Row>((resolve) => (finishRead = resolve));
    const pending = t.cache.get('k', slowRead);
    t.feed.version++; // a change is announced while the old row is on its way
    finishRead({ name: 'old' });
    expect(await pending).toEqual({ name: 'old' });
    t.answer({ name: 'new' });
    expect(await t.cache.get('k', t.load('k'))).toEqual({ name: 'new' });
  });

  it('lets an older read, finishing late, leave the entry a newer read kept', async () => {
    const t = setUp();
    let finishOld!: (row: Row) => void;
    const older = t.cache.get('k', () => new Promise<Row>((resolve) => (finishOld = resolve)));
    t.feed.version++; // a change (or an admin write's nonce) while the older read is out
    t.answer({ name: 'new' });
    expect(await t.cache.get('k', t.load('k'))).toEqual({ name: 'new' });
    finishOld({ name: 'old' });
    await older;
    // It deleted the newer entry: a read more, and no stale answer should the database fail.
    expect(t.cache.peekFresh('k')).toEqual({ name: 'new' });
  });

  it('evicts the least recently used entry beyond its size', async () => {
    const t = setUp({ maxEntries: 2 });
    await t.cache.get('a', t.load('a'));
    await t.cache.get('b', t.load('b'));
    await t.cache.get('a', t.load('a'));
    await t.cache.get('c', t.load('c'));
    expect(t.cache.size).toBe(2);
    await t.cache.get('a', t.load('a'));
    await t.cache.get('b', t.load('b'));
    expect(t.reads).toEqual(['a', 'b', 'c', 'b']);
  });

  describe('while the database fails', () => {
    const down = new Error('connect ECONNREFUSED');

    it('answers a recently read entry, and says so', async () => {
      const t = setUp({ ttlMs: 1000, staleMs: 10_000 });
      await t.cache.get('k', t.load('k'));
      t.feed.listening = false; // the feed's connection goes down with the database
      t.answer(down);
      t.advance(5000);
      expect(await t.cache.get('k', t.load('k'))).toEqual({ name: 'v1' });
      expect(t.stale).toEqual([down]);
    });

    it('fails for a key it has never read', async () => {
      const t = setUp();
      t.answer(down);
      await expect(t.cache.get('k', t.load('k'))).rejects.toBe(down);
    });

    it('fails once the entry is older than the stale limit', async () => {
      const t = setUp({ ttlMs: 1000, staleMs: 10_000 });
      await t.cache.get('k', t.load('k'));
      t.answer(down);
      t.advance(10_000);
      await expect(t.cache.get('k', t.load('k'))).rejects.toBe(down);
    });

    it('fails at once with a stale limit of 0', async () => {
      const t = setUp({ ttlMs: 1000, staleMs: 0 });
      await t.cache.get('k', t.load('k'));
      t.answer(down);
      t.advance(1000);
      await expect(t.cache.get('k', t.load('k'))).rejects.toBe(down);
    });

    it('does not ask the database again for a second after a failure', async () => {
      const t = setUp({ ttlMs: 1000 });
      await t.cache.get('k', t.load('k'));
      t.feed.listening = false;
      t.answer(down);
      await t.cache.get('k', t.load('k'));
      t.advance(500);
      await t.cache.get('k', t.load('k'));
      expect(t.reads).toHaveLength(2);
      t.advance(500);
      t.answer({ name: 'back' });
      expect(await t.cache.get('k', t.load('k'))).toEqual({ name: 'back' });
    });
  });

  describe('while the database hangs (answers nothing, refuses nothing)', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    /** Reads that answer only when told to, counted in `reads`. */
    function hangingReads(t: ReturnType<typeof setUp>) {
      const pending: Array<{ resolve: (row: Row) => void; reject: (error: Error) => void }> = [];
      const load = (key: string) => () => {
        t.reads.push(key);
        return new Promise<Row>((resolve, reject) => pending.push({ resolve, reject }));
      };
      return { load, pending };
    }

    /** Whether `promise` has settled by now (after the pending microtasks). */
    async function settled(promise: Promise<unknown>): Promise<boolean> {
      let done = false;
      void promise.then(
        () => (done = true),
        () => (done = true),
      );
      await jest.advanceTimersByTimeAsync(0);
      return done;
    }

    /** A cache with `k` read at the start and past its TTL now. */
    async function expired() {
      const t = setUp({ ttlMs: 1000 });
      await t.cache.get('k', t.load('k'));
      t.advance(1000);
      return { t, hung: hangingReads(t) };
    }

    it(`stops waiting for the read of an expired entry after ${SLOW_READ_MS} ms, and answers the entry`, async () => {
      const { t, hung } = await expired();
      const answer = t.cache.get('k', hung.load('k'));
      await jest.advanceTimersByTimeAsync(SLOW_READ_MS - 1);
      expect(await settled(answer)).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      expect(await answer).toEqual({ name: 'v1' });
      expect(t.stale).toHaveLength(1);
      // What the read brings when it does answer replaces the entry.
      hung.pending[0].resolve({ name: 'v2' });
      await jest.advanceTimersByTimeAsync(0);
      expect(await t.cache.get('k', t.load('k'))).toEqual({ name: 'v2' });
      expect(t.reads).toEqual(['k', 'k']);
    });

    it('then answers every request at once, with no read but the one still out', async () => {
      const { t, hung } = await expired();
      const first = t.cache.get('k', hung.load('k'));
      await jest.advanceTimersByTimeAsync(SLOW_READ_MS);
      await first;
      for (let i = 0; i < 5; i++) {
        t.advance(PROBE_INTERVAL_MS); // not even a second on: that read is still out
        const answer = t.cache.get('k', hung.load('k'));
        expect(await settled(answer)).toBe(true);
        expect(await answer).toEqual({ name: 'v1' });
      }
      expect(t.reads).toEqual(['k', 'k']);
    });

    it('lets one read at a time find out whether it is back, waiting for none of them', async () => {
      const { t, hung } = await expired();
      const first = t.cache.get('k', hung.load('k'));
      await jest.advanceTimersByTimeAsync(SLOW_READ_MS);
      await first;
      hung.pending[0].reject(new Error('Connection terminated due to connection timeout'));
      await jest.advanceTimersByTimeAsync(0);
      t.advance(PROBE_INTERVAL_MS);
      // The next request asks again, and waits for the answer no longer than the first did.
      const probe = t.cache.get('k', hung.load('k'));
      const meanwhile = t.cache.get('k', hung.load('k'));
      expect(await settled(meanwhile)).toBe(true);
      await jest.advanceTimersByTimeAsync(SLOW_READ_MS);
      expect(await probe).toEqual({ name: 'v1' });
      expect(t.reads).toEqual(['k', 'k', 'k']);
      // The database is back: the read's answer replaces the entry, and reads go on as usual.
      hung.pending[1].resolve({ name: 'back' });
      await jest.advanceTimersByTimeAsync(0);
      expect(t.database.failing).toBe(false);
      expect(t.cache.peekFresh('k')).toEqual({ name: 'back' });
    });

    it('spares every cache sharing its status: one found failing is failing for all', async () => {
      const { t, hung } = await expired();
      const settings = new ReadThroughCache<Row>(t.feed, t.database, {
        ttlMs: 1000,
        staleMs: 300_000,
        maxEntries: 1,
        now: t.now,
      });
      t.advance(-1000);
      await settings.get('settings', t.load('settings'));
      t.advance(1000);
      // The settings' read finds the database hung ...
      const settingsAnswer = settings.get('settings', hung.load('settings'));
      await jest.advanceTimersByTimeAsync(SLOW_READ_MS);
      expect(await settingsAnswer).toEqual({ name: 'v1' });
      // ... and the user's request behind it does not try again.
      const userAnswer = t.cache.get('k', hung.load('k'));
      expect(await settled(userAnswer)).toBe(true);
      expect(t.reads).toEqual(['k', 'settings', 'settings']);
    });

    it('lets a request waiting for a read go as soon as another cache finds the database failing', async () => {
      const { t, hung } = await expired();
      const other = new ReadThroughCache<Row>(t.feed, t.database, {
        ttlMs: 1000,
        staleMs: 300_000,
        maxEntries: 1,
        now: t.now,
      });
      const waiting = t.cache.get('k', hung.load('k'));
      const refused = other.get('x', () => Promise.reject(new Error('ECONNREFUSED')));
      await expect(refused).rejects.toThrow('ECONNREFUSED'); // nothing cached to answer with
      expect(await settled(waiting)).toBe(true);
      expect(await waiting).toEqual({ name: 'v1' });
    });

    it('makes a key with nothing cached wait for its read, and fail with it', async () => {
      const { t, hung } = await expired();
      const first = t.cache.get('k', hung.load('k'));
      await jest.advanceTimersByTimeAsync(SLOW_READ_MS);
      await first;
      const unknown = t.cache.get('unknown', hung.load('unknown'));
      await jest.advanceTimersByTimeAsync(10_000);
      expect(await settled(unknown)).toBe(false);
      const timeout = new Error('Query read timeout');
      hung.pending[1].reject(timeout);
      await expect(unknown).rejects.toBe(timeout);
    });

    it('answers nothing stale for slowness alone while the feed is not listening', async () => {
      // A change made while the LISTEN connection is away is not heard: only a read that
      // fails (the database down) may let the entry answer (found by review: a key disabled
      // meanwhile was accepted).
      const { t, hung } = await expired();
      t.feed.listening = false;
      t.feed.version++;
      const answer = t.cache.get('k', hung.load('k'));
      await jest.advanceTimersByTimeAsync(SLOW_READ_MS * 4);
      expect(await settled(answer)).toBe(false);
      hung.pending[0].resolve({ name: 'disabled' });
      expect(await answer).toEqual({ name: 'disabled' });
      expect(t.stale).toHaveLength(0);
      // Its failure still does (the database down: the stale-while-down rule).
      t.advance(1000);
      const failing = t.cache.get('k', hung.load('k'));
      hung.pending[1].reject(new Error('connection refused'));
      expect(await failing).toEqual({ name: 'disabled' });
      expect(t.stale).toHaveLength(1);
    });

    it('never answers an entry invalidated while its read was out, not even stale', async () => {
      const { t, hung } = await expired();
      const answer = t.cache.get('k', hung.load('k'));
      t.feed.version++; // a notification: the user was disabled, say
      t.cache.delete('k');
      await jest.advanceTimersByTimeAsync(SLOW_READ_MS);
      expect(await settled(answer)).toBe(false); // nothing left to answer with: it waits
      const down = new Error('Query read timeout');
      hung.pending[0].reject(down);
      await expect(answer).rejects.toBe(down);
      expect(t.stale).toEqual([]);
    });
  });

  it('peeks at a fresh entry only: never reads, never answers past the TTL, stale or deaf', async () => {
    const t = setUp({ ttlMs: 1000 });
    expect(t.cache.peekFresh('k')).toBeUndefined();
    const row = await t.cache.get('k', t.load('k'));
    expect(t.cache.peekFresh('k')).toBe(row);
    t.feed.listening = false;
    expect(t.cache.peekFresh('k')).toBeUndefined();
    t.feed.listening = true;
    t.advance(1000);
    expect(t.cache.peekFresh('k')).toBeUndefined();
    // Past its TTL with the database failing, get answers stale; peekFresh still does not.
    t.answer(new Error('down'));
    expect(await t.cache.get('k', t.load('k'))).toBe(row);
    expect(t.cache.peekFresh('k')).toBeUndefined();
    expect(t.reads).toEqual(['k', 'k']);
  });
});
