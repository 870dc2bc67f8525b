/**
 * The key a client's per-address limits count under, one rule everywhere: the services' Redis limits, admission's
 * per-client share and the explain limiter use this function; the gateway's `limit_req`/`limit_conn` use the same
 * rule in nginx (`$client_bucket`, infra/nginx/templates/client-bucket.inc.template). One IPv6 subscriber usually
 * holds a whole /64 and can use any address in it, so IPv6 clients are counted per /64; an IPv4 client, also when a
 * dual-stack socket shows it as `::ffff:a.b.c.d`, per address. What does not parse as an address counts as itself.
 */
import { formatIpv4, parseIp, unmapIpv4 } from './ip.ts';

export function clientBucket(ip: string): string {
  const parsed = parseIp(ip);
  if (!parsed) return ip;
  const v4 = parsed.family === 4 ? parsed : unmapIpv4(parsed);
  if (v4) return formatIpv4(v4.value);
  const prefix = parsed.value >> 64n;
  const groups = [48n, 32n, 16n, 0n].map((shift) => ((prefix >> shift) & 0xffffn).toString(16));
  return `${groups.join(':')}::/64`;
}
