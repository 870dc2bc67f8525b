/** The use cases' view of who asked (`domain/request-meta.ts`), read from an express request. */
import { requestId } from '@authstack/telemetry';
import type { Request } from 'express';
import type { RequestMeta } from '../domain/request-meta.ts';
import { clientAddress } from './client-address.ts';

export function requestMeta(req: Request): RequestMeta {
  return { ip: clientAddress(req), userAgent: req.get('user-agent') ?? '', requestId: requestId(req) };
}
