/**
 * The one way the auth service writes its audit trail. An event is what happened (`type` from the contract's
 * `EVENT_TYPES`, the account, details); the request it came from (address, user agent, request id) is added here,
 * so no use case spells it out. Events written outside a request (the admin bootstrap at start-up, the key
 * rotation CLI) have no request. Never put passwords or tokens in an event.
 */
import type { AuthEvent, EventStore } from '../store/events.ts';
import type { RequestMeta } from './request-meta.ts';

/** An audit event as a use case states it: everything but the request's own fields. */
export type AuditRecord = Omit<AuthEvent, 'ip' | 'userAgent' | 'requestId'>;

/** `event` with the fields of the request it came from (none outside a request). */
export const withRequest = (meta: RequestMeta | undefined, event: AuditRecord): AuthEvent =>
  meta ? { ...event, ip: meta.ip, userAgent: meta.userAgent, requestId: meta.requestId } : event;

export function audit(
  deps: { events: EventStore },
  meta: RequestMeta | undefined,
  event: AuditRecord,
): Promise<void> {
  return deps.events.record(withRequest(meta, event));
}
