/**
 * `TRUST_PROXY`, one meaning in every service: which peers may tell the service the client's address
 * (through `X-Forwarded-For`). The parsed value is what express's `trust proxy` setting takes, and both
 * services hand it to express unchanged.
 *
 * - `false` or `0`: trust no proxy; the client is the socket's peer.
 * - a hop count `1`..`32`: trust that many proxies in front of the service, whoever they are.
 * - a comma-separated list of addresses, CIDR ranges and the names `loopback`, `linklocal`, `uniquelocal`.
 *
 * Refused: `true`, `*` and any list whose ranges together cover every IPv4 or every IPv6 address
 * (`0.0.0.0/0`, `::/0`, `::ffff:0:0/96` — every IPv4 client as a dual-stack socket sees it — or
 * `0.0.0.0/1,128.0.0.0/1`): trusting everyone lets any client choose its own address, and with it whose rate
 * limits it hits and what the audit log says.
 */
import { parseIp } from './ip.ts';

export type TrustProxy = false | number | string[];

export const TRUST_PROXY_NAMES = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
} as const;

const MAX_HOPS = 32;
const V4_MAX = (1n << 32n) - 1n;
const V6_MAX = (1n << 128n) - 1n;
const MAPPED = 0xffffn << 32n; // ::ffff:0:0/96, where a dual-stack socket puts IPv4 clients

type Interval = [bigint, bigint];

interface Range {
  family: 4 | 6;
  interval: Interval;
}

function parseRange(entry: string): Range | undefined {
  const [address = '', prefixText, extra] = entry.split('/');
  if (extra !== undefined) return undefined;
  const ip = parseIp(address);
  if (!ip) return undefined;
  const bits = ip.family === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefix > bits) return undefined;
  const hostBits = BigInt(bits - prefix);
  const start = (ip.value >> hostBits) << hostBits;
  return { family: ip.family, interval: [start, start + (1n << hostBits) - 1n] };
}

/** Does the union of `intervals` cover 0..max? */
function covers(intervals: Interval[], max: bigint): boolean {
  let next = 0n;
  for (const [start, end] of [...intervals].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    if (start > next) return false;
    if (end + 1n > next) next = end + 1n;
    if (next > max) return true;
  }
  return false;
}

/** The IPv4 addresses (as a dual-stack socket would see them) and the IPv6 addresses a list trusts. */
function coverage(ranges: Range[]): { v4: boolean; v6: boolean } {
  const v4: Interval[] = [];
  const v6: Interval[] = [];
  for (const { family, interval } of ranges) {
    if (family === 4) {
      v4.push(interval);
      continue;
    }
    v6.push(interval);
    const start = interval[0] > MAPPED ? interval[0] : MAPPED;
    const end = interval[1] < MAPPED + V4_MAX ? interval[1] : MAPPED + V4_MAX;
    if (start <= end) v4.push([start - MAPPED, end - MAPPED]);
  }
  return { v4: covers(v4, V4_MAX), v6: covers(v6, V6_MAX) };
}

const EVERYONE =
  'trusting every address lets any client forge its IP; name the proxies (addresses, CIDR ranges, loopback, linklocal, uniquelocal) or give a hop count';

/** Parse a `TRUST_PROXY` value; throws an `Error` whose message says what is wrong. */
export function parseTrustProxy(raw: string): TrustProxy {
  const value = raw.trim();
  if (/^(false|0)$/i.test(value)) return false;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops > MAX_HOPS) throw new Error(`a hop count must be 0..${MAX_HOPS}`);
    return hops;
  }
  if (/^(true|\*|all|any)$/i.test(value)) throw new Error(EVERYONE);
  const entries = value.split(',').map((entry) => entry.trim());
  const ranges: Range[] = [];
  for (const entry of entries) {
    const named = TRUST_PROXY_NAMES[entry.toLowerCase() as keyof typeof TRUST_PROXY_NAMES];
    const parsed = named ? named.map((cidr) => parseRange(cidr) as Range) : [parseRange(entry)];
    if (parsed.some((range) => range === undefined)) {
      throw new Error(
        `"${entry}" is not an IP address, a CIDR range (address/prefix) or one of loopback, linklocal, uniquelocal`,
      );
    }
    ranges.push(...(parsed as Range[]));
  }
  const covered = coverage(ranges);
  if (covered.v4 || covered.v6) {
    throw new Error(`the ranges cover every ${covered.v4 ? 'IPv4' : 'IPv6'} address: ${EVERYONE}`);
  }
  return entries.map((entry) => (entry.toLowerCase() in TRUST_PROXY_NAMES ? entry.toLowerCase() : entry));
}
