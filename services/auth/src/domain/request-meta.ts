/**
 * Who made a request, as the use cases see it: the client's address, user agent and request id. Limits and
 * admission count by the address; audit events and sessions record all three (the address in an `inet` column).
 */
import { isIP } from 'node:net';
import { requestId } from '@authstack/telemetry';
import type { Request } from 'express';
import { clientAddressUnknown } from './errors.ts';

export interface RequestMeta {
  /** The client's address: the socket's peer, or the one a proxy that `TRUST_PROXY` trusts forwarded. */
  ip: string;
  userAgent: string;
  requestId: string | undefined;
}

/**
 * The one parser of client addresses: an IPv4 or IPv6 address that PostgreSQL's `inet` accepts, else undefined.
 * Node's `isIP` also takes an IPv6 zone id (`fe80::1%eth0`); it names an interface of the host that saw the
 * address, not part of the address, and `inet` refuses it.
 */
export function parseClientAddress(text: string | undefined): string | undefined {
  if (text === undefined || text.includes('%') || isIP(text) === 0) return undefined;
  return text;
}

/**
 * Read from an express request (`trust proxy` already applied to `req.ip`). An address that is not one (the
 * socket is gone, or a trusted proxy forwarded something else) is 400 `client_address_unknown`: limits need an
 * address to count under.
 */
export function requestMeta(req: Request): RequestMeta {
  const ip = parseClientAddress(req.ip);
  if (ip === undefined) throw clientAddressUnknown();
  return { ip, userAgent: req.get('user-agent') ?? '', requestId: requestId(req) };
}
