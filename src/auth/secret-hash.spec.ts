import { randomBytes } from 'node:crypto';
import {
  constantTimeEqual,
  hashSecret,
  UNMATCHABLE_SECRET_HASH,
  verifySecret,
} from './secret-hash';

const SECRET = 'a3f1c9e07b5d4e2f8a6b1c3d5e7f9012a3f1c9e07b5d4e2f8a6b1c3d5e7f9012';
const FORMAT = /^hmac-sha256\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

describe('hashSecret / verifySecret', () => {
  it('verifies a secret against its own hash', () => {
    expect(verifySecret(SECRET, hashSecret(SECRET))).toBe(true);
  });

  it.each([
    ['a UTF-8 secret', 'pässwörd-€-密码-1234'],
    ['a secret with colons and dollar signs', 'a:b$c:d$e-0123456789'],
    ['a 1024-character secret', 'x'.repeat(1024)],
  ])('round-trips %s', (_label, secret) => {
    expect(verifySecret(secret, hashSecret(secret))).toBe(true);
  });

  it('rejects a wrong secret', () => {
    const stored = hashSecret(SECRET);
    expect(verifySecret(`${SECRET}x`, stored)).toBe(false);
    expect(verifySecret(SECRET.slice(0, -1), stored)).toBe(false);
    expect(verifySecret(SECRET.toUpperCase(), stored)).toBe(false);
    expect(verifySecret('', stored)).toBe(false);
  });

  it('distinguishes secrets that differ only in Unicode normalisation', () => {
    const composed = 'caf\u00e9-secret-value'; // é as one code point
    const decomposed = 'cafe\u0301-secret-value'; // e + combining acute
    expect(verifySecret(decomposed, hashSecret(composed))).toBe(false);
  });

  it('salts every hash differently', () => {
    const first = hashSecret(SECRET);
    const second = hashSecret(SECRET);
    expect(first).not.toBe(second);
    const [, saltA, digestA] = FORMAT.exec(first)!;
    const [, saltB, digestB] = FORMAT.exec(second)!;
    expect(saltA).not.toBe(saltB);
    expect(digestA).not.toBe(digestB);
    expect(verifySecret(SECRET, first)).toBe(true);
    expect(verifySecret(SECRET, second)).toBe(true);
  });

  it('stores hmac-sha256$<salt>$<digest> in base64url with a 16-byte salt and 32-byte digest', () => {
    const stored = hashSecret(SECRET);
    const match = FORMAT.exec(stored);
    expect(match).not.toBeNull();
    const [, salt, digest] = match!;
    expect(Buffer.from(salt, 'base64url')).toHaveLength(16);
    expect(Buffer.from(digest, 'base64url')).toHaveLength(32);
  });

  it('does not contain the secret, nor its base64 or hex forms', () => {
    const secret = 'plain-text-secret-which-must-not-leak';
    const stored = hashSecret(secret);
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain(Buffer.from(secret).toString('base64url'));
    expect(stored).not.toContain(Buffer.from(secret).toString('base64'));
    expect(stored).not.toContain(Buffer.from(secret).toString('hex'));
  });

  describe('malformed stored values', () => {
    const valid = hashSecret(SECRET);
    const [, salt, digest] = FORMAT.exec(valid)!;

    it.each([
      ['empty', ''],
      ['only the algorithm', 'hmac-sha256'],
      ['algorithm and salt only', `hmac-sha256$${salt}`],
      ['an empty salt', `hmac-sha256$$${digest}`],
      ['an empty digest', `hmac-sha256$${salt}$`],
      ['an unknown algorithm', `bcrypt$${salt}$${digest}`],
      ['an algorithm in another case', `HMAC-SHA256$${salt}$${digest}`],
      ['no algorithm', `$${salt}$${digest}`],
      ['the plain secret', SECRET],
      ['a truncated digest', `hmac-sha256$${salt}$${digest.slice(0, 20)}`],
      ['a digest that is too long', `hmac-sha256$${salt}$${digest}${digest}`],
      ['a digest of 31 bytes', `hmac-sha256$${salt}$${randomBytes(31).toString('base64url')}`],
      ['garbage', '$$$$'],
    ])('returns false without throwing for %s', (_label, stored) => {
      let result: boolean | undefined;
      expect(() => {
        result = verifySecret(SECRET, stored);
      }).not.toThrow();
      expect(result).toBe(false);
    });

    it('returns false for a well-formed value whose salt was changed', () => {
      const otherSalt = randomBytes(16).toString('base64url');
      expect(verifySecret(SECRET, `hmac-sha256$${otherSalt}$${digest}`)).toBe(false);
    });
  });

  describe('UNMATCHABLE_SECRET_HASH', () => {
    it('is a well-formed stored value, so verifying against it does the same work', () => {
      expect(UNMATCHABLE_SECRET_HASH).toMatch(FORMAT);
    });

    it('matches none of the secrets tried', () => {
      const tried = [
        '',
        'secret',
        SECRET,
        'x'.repeat(1024),
        'pässwörd-€-密码-1234',
        ...Array.from({ length: 50 }, () => randomBytes(32).toString('hex')),
      ];
      for (const secret of tried) {
        expect(verifySecret(secret, UNMATCHABLE_SECRET_HASH)).toBe(false);
      }
    });
  });
});

describe('constantTimeEqual', () => {
  it.each([
    ['abc', 'abc', true],
    ['abc', 'abd', false],
    ['abc', 'xbc', false],
    ['abc', 'ab', false],
    ['ab', 'abc', false],
    ['a', '', false],
    ['', 'a', false],
    ['', '', true],
    ['é', 'e', false],
  ])('%j vs %j: %s', (a, b, equal) => {
    expect(constantTimeEqual(a, b)).toBe(equal);
  });
});
