import ipaddr from 'ipaddr.js';
import { parseClientAddress } from '../common/ip-address';

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
 * however its address is written (see `parseClientAddress`) and whichever of its addresses it
 * uses: IPv4 as it is; IPv6 as its network of `ipv6PrefixLength` bits (`2001:db8:1:2::/64`),
 * or at 128 the address itself. A subscriber or host is usually given a whole /64 and can move
 * through it at will: counted per address, each of its 2^64 addresses would get attempts of its
 * own. Anything else (`unknown`, a value a trusted proxy made up) is counted as it is.
 */
export function countedAddress(address: string, ipv6PrefixLength: number): string {
  const parsed = parseClientAddress(address);
  if (!parsed) return address;
  if (parsed.kind() === 'ipv4' || ipv6PrefixLength === 128) return parsed.toString();
  const network = ipaddr.IPv6.networkAddressFromCIDR(`${parsed.toString()}/${ipv6PrefixLength}`);
  return `${network.toString()}/${ipv6PrefixLength}`;
}
