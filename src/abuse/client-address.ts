import ipaddr from 'ipaddr.js';

/** The parts of a Fastify request the client address comes from. */
export interface AddressedRequest {
  ip?: string;
  socket?: { remoteAddress?: string };
}

/**
 * The client's address as Fastify reports it: `request.ip`, which is the socket's peer, or the
 * client `X-Forwarded-For` names when `TRUST_PROXY` trusts the proxy that sent it (Fastify's
 * `trustProxy`). Not yet normalised: see `countedAddress`.
 */
export function clientAddress(request: AddressedRequest): string {
  return request.ip ?? request.socket?.remoteAddress ?? 'unknown';
}

/**
 * What failed attempts from `address` are counted against, so that one client is one subject
 * however its address is written and whichever of its addresses it uses:
 * - IPv4 as it is, and an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, what a dual-stack
 *   socket reports) as its IPv4 address;
 * - IPv6 as its network of `ipv6PrefixLength` bits in canonical form (`2001:db8:1:2::/64`), or
 *   at 128 the address itself in canonical form (RFC 5952, no zone id). A subscriber or host is
 *   usually given a whole /64 and can move through it at will: counted per address, each of
 *   its 2^64 addresses would get attempts of its own;
 * - anything else (`unknown`, a value a trusted proxy made up) as it is.
 */
export function countedAddress(address: string, ipv6PrefixLength: number): string {
  if (!address.includes(':') || !ipaddr.IPv6.isValid(address)) return address;
  const parsed = ipaddr.IPv6.parse(address);
  if (parsed.isIPv4MappedAddress()) return parsed.toIPv4Address().toString();
  const bytes = parsed.toByteArray(); // without the zone id (`%eth0`)
  for (let bit = ipv6PrefixLength; bit < 128; bit++) bytes[bit >> 3] &= ~(0x80 >> (bit & 7));
  const network = ipaddr.fromByteArray(bytes).toString();
  return ipv6PrefixLength === 128 ? network : `${network}/${ipv6PrefixLength}`;
}
