import ipaddr from 'ipaddr.js';
import { isIP } from 'node:net';

/**
 * A client's address (Fastify's `request.ip`) parsed, or undefined when it is none (a trusted
 * proxy's garbage `X-Forwarded-For`, `unknown`). Node's `isIP` decides, which is strict where
 * ipaddr.js alone would take `127.1` or `0x7f.0.0.1`. A zone id (`fe80::1%eth0`) is dropped,
 * and an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, what a dual-stack socket reports, in
 * any spelling) is its IPv4 address; `toString()` then gives one spelling per address (RFC
 * 5952 for IPv6: `2001:DB8:0::1` is `2001:db8::1`).
 */
export function parseClientAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const address = text.split('%')[0];
  const version = isIP(address);
  if (version === 4) return ipaddr.IPv4.parse(address);
  if (version !== 6) return undefined;
  const parsed = ipaddr.IPv6.parse(address);
  return parsed.isIPv4MappedAddress() ? parsed.toIPv4Address() : parsed;
}
