/**
 * SQL for the revocations an account change owes (an outbox): queued in the change's own transaction, carried out
 * in Redis afterwards, and deleted once done. The only place that knows the `pending_revocations` table.
 */
import type pg from 'pg';
import type { Db } from './db.ts';
import { withDb } from './db.ts';

export interface PendingRevocation {
  userId: string;
  /** End every session of the account. */
  endSessions: boolean;
  /** Tell the account's cookie sessions its privileges changed (their next token is minted afresh). */
  privilegesChanged: boolean;
  version: string;
}

const COLUMNS = `user_id AS "userId", end_sessions AS "endSessions", privileges_changed AS "privilegesChanged",
  version::text`;

/** Queue work for `userId` inside the caller's transaction (merged with work already queued for it). */
export async function queueRevocation(
  client: pg.PoolClient,
  userId: string,
  work: { endSessions: boolean; privilegesChanged: boolean },
): Promise<void> {
  await client.query(
    `INSERT INTO pending_revocations (user_id, end_sessions, privileges_changed) VALUES ($1, $2, $3)
     ON CONFLICT (user_id) DO UPDATE
       SET end_sessions = pending_revocations.end_sessions OR EXCLUDED.end_sessions,
           privileges_changed = pending_revocations.privileges_changed OR EXCLUDED.privileges_changed,
           version = nextval('pending_revocations_version_seq'), queued_at = now()`,
    [userId, work.endSessions, work.privilegesChanged],
  );
}

export function createRevocationStore(db: Db) {
  return {
    /** What is owed: for one account, or the oldest `limit` of all. */
    pending(filter: { userId: string } | { limit: number }): Promise<PendingRevocation[]> {
      return withDb(async () => {
        const { rows } =
          'userId' in filter
            ? await db.query<PendingRevocation>(
                `SELECT ${COLUMNS} FROM pending_revocations WHERE user_id = $1`,
                [filter.userId],
              )
            : await db.query<PendingRevocation>(
                `SELECT ${COLUMNS} FROM pending_revocations ORDER BY queued_at LIMIT $1`,
                [filter.limit],
              );
        return rows;
      });
    },

    /** Done with `revocation`; work queued for the account since it was read stays. */
    done(revocation: PendingRevocation): Promise<void> {
      return withDb(async () => {
        await db.query('DELETE FROM pending_revocations WHERE user_id = $1 AND version = $2', [
          revocation.userId,
          revocation.version,
        ]);
      });
    },
  };
}

export type RevocationStore = ReturnType<typeof createRevocationStore>;
