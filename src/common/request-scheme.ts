/**
 * A request's scheme in lower case. URI schemes are case-insensitive (RFC 3986, 3.1), and
 * Fastify's `request.protocol` is X-Forwarded-Proto as a trusted proxy sent it: `HTTPS` was a
 * 421, and then went as spelt into the URLs of OData answers (found by review). The common
 * spellings are returned as they are, without lower-casing.
 */
export function requestScheme(protocol: string): string {
  return protocol === 'https' || protocol === 'http' ? protocol : protocol.toLowerCase();
}
