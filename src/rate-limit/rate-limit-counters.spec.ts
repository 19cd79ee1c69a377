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

  it('keeps a window longer than setTimeout can wait (cut to 24.8 days)', async () => {
    const counters = new RateLimitCounters(null);
    const first = await counters.hit('rate', 'u1', 30 * 86_400);
    expect(first.msLeft).toBe(2_147_483_000);
    jest.advanceTimersByTime(86_400_000);
    expect((await counters.hit('rate', 'u1', 30 * 86_400)).hits).toBe(2);
  });
});
