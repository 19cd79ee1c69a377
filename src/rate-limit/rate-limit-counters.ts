import type Redis from 'ioredis';
import { RateLimiterAbstract, RateLimiterRedis } from 'rate-limiter-flexible';
import { LongWindowMemoryLimiter } from './long-window-memory-limiter';
import type { PolicyName } from './rate-limit-headers';

/** Every Redis key of the counters starts with this (then `rate:` or `quota:`). */
export const RATE_LIMIT_KEY_PREFIX = 'gatehouse:throttle';

/** A counter after counting one request. */
export interface CounterState {
  /** Requests counted in the current window, this one included (refused ones too). */
  hits: number;
  /** Milliseconds until the window ends and the counter starts again from 0. */
  msLeft: number;
}

/**
 * The request counters, from rate-limiter-flexible: fixed windows (the first request opens a
 * window of the given length; the counter is dropped when it ends), in this process's memory
 * or, with Redis, shared by every instance (one atomic Lua script per count; should Redis
 * fail, each instance counts in its memory until it is back: `insuranceLimiter`).
 *
 * One limiter per policy name; the limiters only count (their own `points` are never reached)
 * because every user has limits of their own: the guard compares the count with the user's
 * limit, so a changed limit applies to the next request and keeps the count so far.
 */
export class RateLimitCounters {
  private readonly limiters: Record<PolicyName, RateLimiterAbstract>;

  constructor(redis: Redis | null) {
    const limiter = (name: PolicyName): RateLimiterAbstract => {
      const options = {
        keyPrefix: `${RATE_LIMIT_KEY_PREFIX}:${name}`,
        points: Number.MAX_SAFE_INTEGER,
        duration: 60,
      };
      // Not RateLimiterMemory itself: it cannot keep a window over 24.8 days (see the class).
      const memory = new LongWindowMemoryLimiter(options);
      if (!redis) return memory;
      return new RateLimiterRedis({
        ...options,
        storeClient: redis,
        // While the connection is down, count in memory at once rather than wait for it.
        rejectIfRedisNotReady: true,
        insuranceLimiter: memory,
      });
    };
    this.limiters = { rate: limiter('rate'), quota: limiter('quota') };
  }

  /** Counts one request under `key` in a window of `windowSeconds` (used when it opens one). */
  async hit(policy: PolicyName, key: string, windowSeconds: number): Promise<CounterState> {
    const customDuration = Math.max(1, Math.ceil(windowSeconds));
    const result = await this.limiters[policy].consume(key, 1, { customDuration });
    return { hits: result.consumedPoints, msLeft: result.msBeforeNext };
  }
}
