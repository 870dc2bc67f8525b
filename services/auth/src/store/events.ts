/** SQL for the audit trail. Events never carry passwords or tokens. */
import { type AuthEventType, EVENT_TYPES } from '@authstack/contract';
import type pg from 'pg';
import type { Db } from './db.ts';
import { withDb } from './db.ts';

/**
 * The event types: one list, the contract's `EVENT_TYPES`, that this store writes and filters by and the admin
 * API's `type` filter accepts (`EventsQuery`). A type not in it is a programming error: refused before any SQL.
 */
export type { AuthEventType };
export const isEventType = (type: string): type is AuthEventType =>
  (EVENT_TYPES as readonly string[]).includes(type);

export interface AuthEvent {
  type: AuthEventType;
  userId?: string | undefined;
  username?: string | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
  requestId?: string | undefined;
  details?: Record<string, unknown>;
}

export interface StoredEvent {
  id: string;
  occurredAt: Date;
  type: AuthEventType;
  userId: string | null;
  username: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
}

/**
 * Write `event` on `db` or on a transaction's client, so an event can be committed (or rolled back) together with
 * the change it records.
 */
export async function insertEvent(db: Pick<pg.ClientBase, 'query'>, event: AuthEvent): Promise<void> {
  if (!isEventType(event.type)) throw new TypeError(`unknown audit event type: ${String(event.type)}`);
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
}

export function createEventStore(db: Db) {
  return {
    /** Newest first; `before` is the last id of the previous page. */
    list(filter: {
      type?: AuthEventType | undefined;
      userId?: string | undefined;
      before?: string | undefined;
      limit: number;
    }) {
      return withDb(async () => {
        const { rows } = await db.query<StoredEvent>(
          `SELECT id::text, occurred_at AS "occurredAt", type, user_id AS "userId", username, host(ip) AS ip,
                  user_agent AS "userAgent", request_id AS "requestId", details
             FROM auth_events
            WHERE ($1::text IS NULL OR type = $1) AND ($2::uuid IS NULL OR user_id = $2)
              AND ($3::bigint IS NULL OR id < $3)
            ORDER BY id DESC LIMIT $4`,
          [filter.type ?? null, filter.userId ?? null, filter.before ?? null, filter.limit],
        );
        return rows;
      });
    },

    record(event: AuthEvent): Promise<void> {
      return withDb(() => insertEvent(db, event));
    },
  };
}

export type EventStore = ReturnType<typeof createEventStore>;
