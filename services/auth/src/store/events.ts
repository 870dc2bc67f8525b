/** SQL for the audit trail. Events never carry passwords or tokens. */
import type { Db } from './db.ts';
import { withDb } from './db.ts';

export type AuthEventType =
  | 'register'
  | 'login_success'
  | 'login_failure'
  | 'refresh_reuse'
  | 'logout'
  | 'logout_all'
  | 'password_change'
  | 'role_change'
  | 'user_disabled'
  | 'key_rotation'
  | 'admin_bootstrap';

export interface AuthEvent {
  type: AuthEventType;
  userId?: string | undefined;
  username?: string | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
  requestId?: string | undefined;
  details?: Record<string, unknown>;
}

export function createEventStore(db: Db) {
  return {
    record(event: AuthEvent): Promise<void> {
      return withDb(async () => {
        await db.query(
          `INSERT INTO auth_events (type, user_id, username, ip, user_agent, request_id, details)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [
            event.type,
            event.userId ?? null,
            event.username ?? null,
            event.ip ?? null,
            event.userAgent?.slice(0, 512) ?? null,
            event.requestId ?? null,
            JSON.stringify(event.details ?? {}),
          ],
        );
      });
    },
  };
}

export type EventStore = ReturnType<typeof createEventStore>;
