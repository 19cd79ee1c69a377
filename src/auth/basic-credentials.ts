/**
 * Parses an `Authorization` header as RFC 7617 Basic credentials.
 *
 * Stricter than passport-http 0.3, which this replaces inside the strategy: the scheme must
 * be exactly `Basic` (any case) followed by whitespace, the token must be canonical base64,
 * the bytes must be valid UTF-8, and user-id and password split at the *first* colon.
 */

import { requestMemo } from '../common/request-memo';

export type BasicCredentials =
  { kind: 'absent' } | { kind: 'malformed' } | { kind: 'valid'; publicKey: string; secret: string };

/**
 * Above any ASCII key pair (128 + 1024 characters, base64-encoded) and below abuse. A secret of
 * multi-byte characters can be longer: the admin API and the configuration refuse a pair that
 * would not fit (MAX_CREDENTIALS_BYTES in api-users/api-keys.ts).
 */
export const MAX_AUTHORIZATION_LENGTH = 4096;

const BASIC = /^basic(?:[ \t]+(.*))?$/is;
/** Unicode's Cc: C0 controls, DEL, C1 controls (the same set as /\p{Cc}/u, which is slower). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;
// ignoreBOM keeps a leading U+FEFF as part of the key instead of silently dropping it.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * `header` is never an array from a real request: of several Authorization headers Node's HTTP
 * parser keeps the first and drops the others (README, Authentication and denials). The type
 * (IncomingHttpHeaders) allows one all the same, and a direct caller or an injected request can
 * pass one, so an array is refused as malformed rather than one of its values picked.
 */
export function parseBasicAuthorization(header: string | string[] | undefined): BasicCredentials {
  if (header === undefined || header === '') return { kind: 'absent' };
  if (Array.isArray(header) || header.length > MAX_AUTHORIZATION_LENGTH) {
    return { kind: 'malformed' };
  }
  const match = BASIC.exec(header.trim());
  if (!match) {
    // Another scheme (Bearer, Digest, ...) is "no Basic credentials", not a malformed header.
    return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:[ \t]|$)/.test(header)
      ? { kind: 'absent' }
      : { kind: 'malformed' };
  }
  const token = (match[1] ?? '').trim();
  if (token === '') return { kind: 'malformed' };
  const bytes = Buffer.from(token, 'base64');
  // Canonical base64 only: Buffer.from skips characters outside the alphabet, accepts
  // base64url and missing padding, and ignores non-zero padding bits, so anything but the
  // canonical form encodes back differently (and two headers could otherwise mean the same).
  if (bytes.toString('base64') !== token) return { kind: 'malformed' };
  let decoded: string;
  try {
    decoded = utf8.decode(bytes);
  } catch {
    return { kind: 'malformed' };
  }
  const colon = decoded.indexOf(':');
  if (colon <= 0 || colon === decoded.length - 1) return { kind: 'malformed' };
  // RFC 7617: control characters are not allowed in user-id or password.
  if (CONTROL.test(decoded)) return { kind: 'malformed' };
  return { kind: 'valid', publicKey: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/** What the Basic parsing (and the checks built on it) needs of a request. */
export interface WithHeaders {
  headers: Record<string, string | string[] | undefined>;
}

const parsedCredentials = requestMemo<BasicCredentials>('gatehouse.basicCredentials');

/**
 * The request's Basic credentials, parsed once: the guard needs the public key before it
 * runs the strategy (for locks and bans), and the strategy needs them again.
 */
export function basicCredentialsOf(request: WithHeaders): BasicCredentials {
  let parsed = parsedCredentials.get(request);
  if (!parsed) {
    parsed = parseBasicAuthorization(request.headers.authorization);
    parsedCredentials.set(request, parsed);
  }
  return parsed;
}
