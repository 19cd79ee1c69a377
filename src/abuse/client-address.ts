/** The parts of a Fastify request the client address comes from. */
export interface AddressedRequest {
  ip?: string;
  socket?: { remoteAddress?: string };
}

/**
 * The address failed attempts are counted against: Fastify's `request.ip`, which is the
 * socket's peer, or the client `X-Forwarded-For` names when `TRUST_PROXY` trusts the proxy
 * that sent it (Fastify's `trustProxy`). IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`, what
 * a dual-stack socket reports) count as their IPv4 address, and IPv6 is lower-cased, so one
 * client is one address however it arrives.
 */
export function clientAddress(request: AddressedRequest): string {
  const ip = request.ip ?? request.socket?.remoteAddress ?? 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  return mapped ? mapped[1] : ip.toLowerCase();
}
