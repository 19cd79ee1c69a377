import { randomBytes } from 'node:crypto';

/**
 * Public keys: visible ASCII without the colon (it separates key and secret in Basic
 * credentials), 8-128 characters. Generated ones are 32 hex characters, like Smartstore's.
 */
export const PUBLIC_KEY_PATTERN = /^[\x21-\x39\x3b-\x7e]{8,128}$/;
export const PUBLIC_KEY_RULE = 'must be 8-128 visible ASCII characters without spaces or colons';

/**
 * Imported secrets: any printable UTF-8 text (no control characters, which RFC 7617 forbids
 * in credentials) of 16-1024 characters. Generated ones are 64 hex characters (256 bits).
 */
export const SECRET_PATTERN = /^[^\p{Cc}]{16,1024}$/u;
export const SECRET_RULE = 'must be 16-1024 printable characters';

export function generatePublicKey(): string {
  return randomBytes(16).toString('hex');
}

export function generateSecretKey(): string {
  return randomBytes(32).toString('hex');
}
