import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * How secrets are stored: HMAC-SHA-256 keyed with a random 16-byte per-user salt,
 * `hmac-sha256$<salt>$<digest>` (base64url). Verification costs about a microsecond, so it can
 * run on every request; the README explains why a slow password hash was not chosen. The
 * algorithm name leads the stored value so that a stronger scheme can be added later without
 * invalidating existing keys.
 */
const ALGORITHM = 'hmac-sha256';

function digest(salt: Buffer, secret: string): Buffer {
  return createHmac('sha256', salt).update(secret, 'utf8').digest();
}

export function hashSecret(secret: string): string {
  const salt = randomBytes(16);
  return `${ALGORITHM}$${salt.toString('base64url')}$${digest(salt, secret).toString('base64url')}`;
}

/** Constant-time with respect to the secret; false for a stored value it cannot read. */
export function verifySecret(secret: string, stored: string): boolean {
  const [algorithm, salt, expected] = stored.split('$');
  if (algorithm !== ALGORITHM || !salt || !expected) return false;
  const expectedBytes = Buffer.from(expected, 'base64url');
  const actual = digest(Buffer.from(salt, 'base64url'), secret);
  return expectedBytes.length === actual.length && timingSafeEqual(actual, expectedBytes);
}

/**
 * Verified against when the public key is unknown, so that an unknown key costs the same
 * work as a wrong secret and response times do not tell the two apart.
 */
export const UNMATCHABLE_SECRET_HASH = hashSecret(randomBytes(32).toString('hex'));

/**
 * Whether `presented` equals `expected`, in time that depends only on `presented`'s length: not
 * on where they differ, nor on `expected`'s length, which a client may not learn either (the
 * string counterpart of `timingSafeEqual`, for values cheaper to keep as strings). Of different
 * lengths, `presented` is compared with itself: the same work, the difference already counted.
 */
export function constantTimeEqual(expected: string, presented: string): boolean {
  let difference = expected.length ^ presented.length;
  const against = difference === 0 ? expected : presented;
  for (let i = 0; i < presented.length; i++) {
    difference |= against.charCodeAt(i) ^ presented.charCodeAt(i);
  }
  return difference === 0;
}
