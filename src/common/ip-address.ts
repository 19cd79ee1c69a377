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
  const address = withoutPort(text).split('%')[0];
  const version = isIP(address);
  if (version === 4) return ipaddr.IPv4.parse(address);
  if (version !== 6) return undefined;
  const parsed = ipaddr.IPv6.parse(address);
  return parsed.isIPv4MappedAddress() ? parsed.toIPv4Address() : parsed;
}

/**
 * `203.0.113.7:4711` and `[2001:db8::1]:4711` (or `[2001:db8::1]`) as their address: some
 * proxies (Azure Application Gateway) put the client's port in `X-Forwarded-For`. Unparsed,
 * each source port was a client of its own, so neither locks nor bans held (found by review).
 * An IPv6 address with a port but no brackets cannot be told from one without, and stays as is.
 */
const WITH_PORT = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}|\[([^\]]+)\](?::\d{1,5})?)$/;

function withoutPort(text: string): string {
  const match = WITH_PORT.exec(text);
  return match ? (match[1] ?? match[2]) : text;
}
