/**
 * The client's address as the service records and limits it. It is the socket's peer, or, from a proxy
 * that `TRUST_PROXY` trusts, the address that proxy forwarded. When that is not an IP address (the socket
 * is already gone, or a trusted proxy forwarded something else) the request is refused: limits need an
 * address to count under, and the audit log and sessions store one in an `inet` column.
 */
import { isIP } from 'node:net';
import { HttpProblem } from '@authstack/http-problem';
import type { Request } from 'express';

export const clientAddressUnknown = () =>
  new HttpProblem({
    status: 400,
    code: 'client_address_unknown',
    title: 'Client address unknown',
    detail: 'The client address of this request cannot be determined.',
  });

export function clientAddress(req: Request): string {
  const ip = req.ip;
  if (ip === undefined || isIP(ip) === 0) throw clientAddressUnknown();
  return ip;
}
