import { rateLimitField, rateLimitPolicyField } from './rate-limit-headers';

describe('the RateLimit-Policy and RateLimit fields', () => {
  it('lists each policy with its quota and window', () => {
    expect(
      rateLimitPolicyField([
        { name: 'rate', limit: 100, windowSeconds: 60 },
        { name: 'quota', limit: 5000, windowSeconds: 86_400 },
      ]),
    ).toBe('"rate";q=100;w=60, "quota";q=5000;w=86400');
  });

  it('lists what is left of each and when it resets', () => {
    expect(
      rateLimitField([
        { name: 'rate', remaining: 42, resetSeconds: 17 },
        { name: 'quota', remaining: 0, resetSeconds: 3600 },
      ]),
    ).toBe('"rate";r=42;t=17, "quota";r=0;t=3600');
    expect(rateLimitField([{ name: 'quota', remaining: 1, resetSeconds: 5 }])).toBe(
      '"quota";r=1;t=5',
    );
  });
});
