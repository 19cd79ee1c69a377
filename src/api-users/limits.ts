import type { AppConfig } from '../config/app-config';

/** Largest request count a rate limit or a daily quota may name (fits PostgreSQL's integer). */
export const MAX_LIMIT_REQUESTS = 1_000_000_000;
/** Rate-limit windows: 1 second to 30 days, as for RATE_LIMIT_WINDOW_SECONDS. */
export const MAX_WINDOW_SECONDS = 2_592_000;

/** At most `requests` requests per `windowSeconds`. */
export interface RateLimit {
  requests: number;
  windowSeconds: number;
}

/**
 * A user's own limits as stored: null follows the environment's default (RATE_LIMIT_REQUESTS,
 * DAILY_QUOTA); 0 requests means "no limit" even when the environment sets one.
 */
export interface StoredLimits {
  rateLimitRequests: number | null;
  rateLimitWindowSeconds: number | null;
  dailyQuota: number | null;
}

/** What applies to a user's requests: null is "not limited". */
export interface EffectiveLimits {
  rate: RateLimit | null;
  dailyQuota: number | null;
}

export type LimitDefaults = Pick<AppConfig, 'rateLimit' | 'dailyQuota'>;

export function effectiveLimits(stored: StoredLimits, defaults: LimitDefaults): EffectiveLimits {
  let rate: RateLimit | null;
  if (stored.rateLimitRequests === null) {
    rate =
      defaults.rateLimit.requests === null
        ? null
        : {
            requests: defaults.rateLimit.requests,
            windowSeconds: defaults.rateLimit.windowSeconds,
          };
  } else if (stored.rateLimitRequests === 0) {
    rate = null;
  } else {
    rate = {
      requests: stored.rateLimitRequests,
      windowSeconds: stored.rateLimitWindowSeconds ?? defaults.rateLimit.windowSeconds,
    };
  }
  const dailyQuota =
    stored.dailyQuota === null
      ? defaults.dailyQuota
      : stored.dailyQuota === 0
        ? null
        : stored.dailyQuota;
  return { rate, dailyQuota };
}
