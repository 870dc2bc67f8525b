/**
 * The key a client's per-IP limits count under. One IPv6 subscriber usually holds a whole /64 and can use
 * any address in it, so IPv6 clients are counted per /64; an IPv4 client, also when a dual-stack socket shows
 * it as `::ffff:a.b.c.d`, per address.
 */
import { formatIpv4, parseIp, unmapIpv4 } from '@authstack/config';

export function clientBucket(ip: string): string {
  const parsed = parseIp(ip);
  if (!parsed) return ip;
  const v4 = parsed.family === 4 ? parsed : unmapIpv4(parsed);
  if (v4) return formatIpv4(v4.value);
  const prefix = parsed.value >> 64n;
  const groups = [48n, 32n, 16n, 0n].map((shift) => ((prefix >> shift) & 0xffffn).toString(16));
  return `${groups.join(':')}::/64`;
}
