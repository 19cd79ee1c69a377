/**
 * The fields of draft-ietf-httpapi-ratelimit-headers (RateLimit-Policy and RateLimit, HTTP
 * Structured Field lists; the policy names are strings, the parameters integers):
 *
 *   RateLimit-Policy: "rate";q=100;w=60, "quota";q=5000;w=86400
 *   RateLimit: "rate";r=42;t=17, "quota";r=4950;t=36000
 */
export type PolicyName = 'rate' | 'quota';

export interface Policy {
  name: PolicyName;
  /** Requests allowed in a window (`q`). */
  limit: number;
  /** The window's length in seconds (`w`): the rate window, or a day for the quota. */
  windowSeconds: number;
}

export interface PolicyOutcome {
  name: PolicyName;
  /** Requests left in the current window (`r`). */
  remaining: number;
  /** Seconds until the current window ends (`t`). */
  resetSeconds: number;
}

export function rateLimitPolicyField(policies: readonly Policy[]): string {
  return policies.map((p) => `"${p.name}";q=${p.limit};w=${p.windowSeconds}`).join(', ');
}

export function rateLimitField(outcomes: readonly PolicyOutcome[]): string {
  return outcomes.map((o) => `"${o.name}";r=${o.remaining};t=${o.resetSeconds}`).join(', ');
}
