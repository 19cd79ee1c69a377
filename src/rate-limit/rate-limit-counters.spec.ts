import { jest } from '@jest/globals';
import { RateLimitCounters } from './rate-limit-counters';

describe('RateLimitCounters in memory', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: Date.parse('2026-11-23T12:00:00Z') });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('counts in a fixed window opened by the first request', async () => {
    const counters = new RateLimitCounters(null);
    expect(await counters.hit('rate', 'u1', 10)).toEqual({ hits: 1, msLeft: 10_000 });
    jest.advanceTimersByTime(4000);
    expect(await counters.hit('rate', 'u1', 10)).toEqual({ hits: 2, msLeft: 6000 });
    // Requests past any limit are counted too, without moving the window's end.
    expect(await counters.hit('rate', 'u1', 10)).toEqual({ hits: 3, msLeft: 6000 });
    jest.advanceTimersByTime(6000);
    expect(await counters.hit('rate', 'u1', 10)).toEqual({ hits: 1, msLeft: 10_000 });
  });

  it('keeps keys and policies apart', async () => {
    const counters = new RateLimitCounters(null);
    await counters.hit('rate', 'u1', 60);
    await counters.hit('rate', 'u1', 60);
    expect((await counters.hit('rate', 'u2', 60)).hits).toBe(1);
    expect((await counters.hit('quota', 'u1', 60)).hits).toBe(1);
  });

  it('keeps a 30-day window for 30 days, longer than setTimeout can wait', async () => {
    const counters = new RateLimitCounters(null);
    const window = 30 * 86_400;
    expect(await counters.hit('rate', 'u1', window)).toEqual({ hits: 1, msLeft: window * 1000 });
    // Past setTimeout's longest delay (24.8 days), which once deleted the key at once.
    jest.advanceTimersByTime(25 * 86_400_000);
    expect(await counters.hit('rate', 'u1', window)).toEqual({ hits: 2, msLeft: 5 * 86_400_000 });
    jest.advanceTimersByTime(5 * 86_400_000 - 1);
    expect(await counters.hit('rate', 'u1', window)).toEqual({ hits: 3, msLeft: 1 });
    jest.advanceTimersByTime(1);
    expect(await counters.hit('rate', 'u1', window)).toEqual({ hits: 1, msLeft: window * 1000 });
  });

  it("deletes a long window's counter once it has ended, not before", async () => {
    const counters = new RateLimitCounters(null);
    await counters.hit('quota', 'u1', 30 * 86_400);
    // The deletion timer waits at most 24.8 days, then again for the rest of the window.
    jest.advanceTimersByTime(30 * 86_400_000 - 1);
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(1);
    expect(jest.getTimerCount()).toBe(0);
  });
});
