import { randomBytes } from 'node:crypto';
import { MAX_AUTHORIZATION_LENGTH } from '../auth/basic-credentials';

/**
 * Public keys: visible ASCII without the colon (it separates key and secret in Basic
 * credentials), 8-128 characters. Generated ones are 32 hex characters, like Smartstore's.
 */
export const PUBLIC_KEY_PATTERN = /^[\x21-\x39\x3b-\x7e]{8,128}$/;
export const PUBLIC_KEY_RULE = 'must be 8-128 visible ASCII characters without spaces or colons';

/**
 * Imported secrets: any printable UTF-8 text (no control characters, which RFC 7617 forbids
 * in credentials) of 16-1024 characters. Generated ones are 64 hex characters (256 bits).
 * No lone UTF-16 surrogates either (JSON's `\ud800` escapes give them): UTF-8 cannot encode
 * one, so it was hashed as U+FFFD and secrets that differ only there signed in alike. (Public
 * keys are ASCII, which has none.)
 */
export const SECRET_PATTERN = /^[^\p{Cc}\p{Cs}]{16,1024}$/u;
export const SECRET_RULE =
  'must be 16-1024 printable characters (no control characters, no lone UTF-16 surrogates)';

/**
 * The most UTF-8 bytes `publicKey:secretKey` may have: `Basic ` and their base64 (4 characters
 * per 3 bytes) must fit MAX_AUTHORIZATION_LENGTH, or every request with the pair is refused as
 * a malformed header (reason 2). 3066 bytes: any ASCII pair within the patterns fits, but a
 * secret of 1024 three-byte characters does not.
 */
export const MAX_CREDENTIALS_BYTES =
  Math.floor((MAX_AUTHORIZATION_LENGTH - 'Basic '.length) / 4) * 3;
export const CREDENTIALS_RULE = `is too long: "publicKey:secretKey" must be at most ${MAX_CREDENTIALS_BYTES} bytes of UTF-8 to fit the ${MAX_AUTHORIZATION_LENGTH}-character Authorization header`;

/** Whether requests can present this pair in a Basic header (see MAX_CREDENTIALS_BYTES). */
export function fitsAuthorizationHeader(publicKey: string, secretKey: string): boolean {
  return Buffer.byteLength(`${publicKey}:${secretKey}`, 'utf8') <= MAX_CREDENTIALS_BYTES;
}

/** The length of a generated public key (16 random bytes in hex). */
export const GENERATED_PUBLIC_KEY_LENGTH = 32;

export function generatePublicKey(): string {
  return randomBytes(GENERATED_PUBLIC_KEY_LENGTH / 2).toString('hex');
}

export function generateSecretKey(): string {
  return randomBytes(32).toString('hex');
}
