import { effectiveLimits, StoredLimits } from './limits';

const own = (
  rateLimitRequests: number | null,
  rateLimitWindowSeconds: number | null,
  dailyQuota: number | null,
): StoredLimits => ({ rateLimitRequests, rateLimitWindowSeconds, dailyQuota });

const NO_DEFAULTS = { rateLimit: { requests: null, windowSeconds: 60 }, dailyQuota: null };
const DEFAULTS = { rateLimit: { requests: 100, windowSeconds: 30 }, dailyQuota: 5000 };

describe('effectiveLimits', () => {
  it('is unlimited without limits of the user or the environment', () => {
    expect(effectiveLimits(own(null, null, null), NO_DEFAULTS)).toEqual({
      rate: null,
      dailyQuota: null,
    });
  });

  it("takes the environment's defaults where the user has none", () => {
    expect(effectiveLimits(own(null, null, null), DEFAULTS)).toEqual({
      rate: { requests: 100, windowSeconds: 30 },
      dailyQuota: 5000,
    });
  });

  it("prefers the user's own limits", () => {
    expect(effectiveLimits(own(10, 5, 20), DEFAULTS)).toEqual({
      rate: { requests: 10, windowSeconds: 5 },
      dailyQuota: 20,
    });
    expect(effectiveLimits(own(10, 5, 20), NO_DEFAULTS)).toEqual({
      rate: { requests: 10, windowSeconds: 5 },
      dailyQuota: 20,
    });
  });

  it('reads 0 as "no limit", whatever the environment says', () => {
    expect(effectiveLimits(own(0, 60, 0), DEFAULTS)).toEqual({ rate: null, dailyQuota: null });
  });

  it('limits each independently', () => {
    expect(effectiveLimits(own(0, 60, null), DEFAULTS)).toEqual({ rate: null, dailyQuota: 5000 });
    expect(effectiveLimits(own(null, null, 0), DEFAULTS)).toEqual({
      rate: { requests: 100, windowSeconds: 30 },
      dailyQuota: null,
    });
  });
});
