/** IP addresses as numbers, with Node's own parser (`net.isIP`) deciding what an address is. */
import { isIP } from 'node:net';

export interface ParsedIp {
  family: 4 | 6;
  /** The address as an unsigned 32-bit (IPv4) or 128-bit (IPv6) number. */
  value: bigint;
}

function ipv4Value(address: string): bigint {
  return address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function ipv6Value(address: string): bigint {
  let text = address.replace(/%.*$/, ''); // a zone id names an interface, not part of the address
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // an embedded IPv4 tail (::ffff:1.2.3.4) is the last two 16-bit groups
    const v4 = ipv4Value(text.slice(lastColon + 1));
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::') as [string, string | undefined];
  const words = (s: string) => (s === '' ? [] : s.split(':').map((g) => BigInt(`0x${g}`)));
  const left = words(head);
  const right = tail === undefined ? [] : words(tail);
  const zeros = tail === undefined ? [] : new Array<bigint>(8 - left.length - right.length).fill(0n);
  return [...left, ...zeros, ...right].reduce((acc, word) => (acc << 16n) | word, 0n);
}

/** `undefined` when `address` is not an IPv4 or IPv6 address (as `net.isIP` judges). */
export function parseIp(address: string): ParsedIp | undefined {
  const family = isIP(address);
  if (family === 4) return { family, value: ipv4Value(address) };
  if (family === 6) return { family, value: ipv6Value(address) };
  return undefined;
}

const MAPPED_PREFIX = 0xffffn << 32n; // ::ffff:0:0/96

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), else `undefined`. */
export function unmapIpv4(ip: ParsedIp): ParsedIp | undefined {
  if (ip.family === 6 && ip.value >> 32n === 0xffffn) return { family: 4, value: ip.value - MAPPED_PREFIX };
  return undefined;
}

export function formatIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}
