import { jest } from '@jest/globals';
import { DatabaseStatus, PROBE_INTERVAL_MS, SLOW_READ_MS } from './database-status';

/** A read that answers when the test says so. */
function pendingRead() {
  let resolve!: (value: string) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<string>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { load: () => promise, resolve, reject };
}

/** Whether `promise` has resolved by now (after the pending microtasks). */
async function hasResolved(promise: Promise<unknown>): Promise<boolean> {
  let resolved = false;
  void promise.then(() => (resolved = true));
  await jest.advanceTimersByTimeAsync(0);
  return resolved;
}

describe('DatabaseStatus', () => {
  let now: number;
  let status: DatabaseStatus;
  beforeEach(() => {
    jest.useFakeTimers();
    now = 1_000_000;
    status = new DatabaseStatus(() => now);
  });
  afterEach(() => jest.useRealTimers());

  it('is failing from a failed read, with its error, until a read answers', async () => {
    const down = new Error('connect ECONNREFUSED');
    await expect(status.watch(() => Promise.reject(down)).result).rejects.toBe(down);
    expect(status.failing).toBe(true);
    expect(status.error).toBe(down);
    await expect(status.watch(() => Promise.resolve('row')).result).resolves.toBe('row');
    expect(status.failing).toBe(false);
    expect(status.error).toBeUndefined();
  });

  it(`counts a read unanswered for ${SLOW_READ_MS} ms as failing, and tells every read out`, async () => {
    const hung = pendingRead();
    const other = pendingRead();
    const first = status.watch(hung.load);
    const second = status.watch(other.load);
    jest.advanceTimersByTime(SLOW_READ_MS - 1);
    expect(status.failing).toBe(false);
    expect(await hasResolved(first.failing)).toBe(false);
    jest.advanceTimersByTime(1);
    expect(status.failing).toBe(true);
    expect(String(status.error)).toContain(`has not answered a read in ${SLOW_READ_MS} ms`);
    expect(await hasResolved(first.failing)).toBe(true);
    expect(await hasResolved(second.failing)).toBe(true);
    // An answer after all means the database is there.
    hung.resolve('late');
    await expect(first.result).resolves.toBe('late');
    expect(status.failing).toBe(false);
  });

  it('tells the reads out when another read fails', async () => {
    const hung = pendingRead();
    const failed = pendingRead();
    const waiting = status.watch(hung.load);
    const failing = status.watch(failed.load);
    failed.reject(new Error('down'));
    await expect(failing.result).rejects.toThrow('down');
    expect(await hasResolved(failing.failing)).toBe(true);
    expect(await hasResolved(waiting.failing)).toBe(true);
  });

  it('never tells a read that answered in time, whatever happens later', async () => {
    const read = status.watch(() => Promise.resolve('row'));
    await read.result;
    await expect(status.watch(() => Promise.reject(new Error('down'))).result).rejects.toThrow();
    jest.advanceTimersByTime(SLOW_READ_MS * 10);
    expect(await hasResolved(read.failing)).toBe(false);
  });

  it('takes a load that throws at once as a failed read', async () => {
    const read = status.watch(() => {
      throw new Error('no connection');
    });
    await expect(read.result).rejects.toThrow('no connection');
    expect(status.failing).toBe(true);
  });

  it(`lets one read find out whether it is back: none other out, ${PROBE_INTERVAL_MS} ms after the last failure`, async () => {
    expect(status.mayRead()).toBe(true);
    await status.watch(() => Promise.reject(new Error('down'))).result.catch(() => undefined);
    expect(status.mayRead()).toBe(false);
    now += PROBE_INTERVAL_MS - 1;
    expect(status.mayRead()).toBe(false);
    now += 1;
    expect(status.mayRead()).toBe(true);
    const probe = pendingRead();
    const read = status.watch(probe.load);
    expect(status.mayRead()).toBe(false); // one is out
    now += 60_000;
    expect(status.mayRead()).toBe(false);
    probe.reject(new Error('still down'));
    await read.result.catch(() => undefined);
    expect(status.mayRead()).toBe(false); // it failed just now
    now += PROBE_INTERVAL_MS;
    expect(status.mayRead()).toBe(true);
  });
});
