/** SQL for accounts. The only place that knows the `users` table. */
import type { Db } from './db.ts';
import { transaction, withDb } from './db.ts';
import { type AuthEvent, insertEvent } from './events.ts';
import { queueRevocation } from './revocations.ts';

/** What an account change writes with it: its audit events, and the revocation it queues (see revocations.ts). */
export interface AccountChangeEffects {
  events: AuthEvent[];
  revoke: { endSessions: boolean; privilegesChanged: boolean };
}

export interface UserRow {
  id: string;
  username: string;
  passwordHash: string;
  roles: string[];
  disabled: boolean;
  createdAt: Date;
  lastLoginAt: Date | null;
  /** Moves on every password change and every disable or re-enable (see `login`). */
  credentialsVersion: number;
}

const COLUMNS = `id, username, password_hash AS "passwordHash", roles, disabled,
  created_at AS "createdAt", last_login_at AS "lastLoginAt", credentials_version AS "credentialsVersion"`;

export class UsernameTakenError extends Error {
  constructor() {
    super('username taken');
    this.name = 'UsernameTakenError';
  }
}

export function createUserStore(db: Db) {
  return {
    /** Insert; `UsernameTakenError` when the normalised name exists. */
    insert(user: { username: string; passwordHash: string; roles: string[] }): Promise<UserRow> {
      return withDb(async () => {
        try {
          const { rows } = await db.query<UserRow>(
            `INSERT INTO users (username, password_hash, roles) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`,
            [user.username, user.passwordHash, user.roles],
          );
          return rows[0]!;
        } catch (error) {
          if ((error as { code?: string }).code === '23505') throw new UsernameTakenError();
          throw error;
        }
      });
    },

    findByUsername(username: string): Promise<UserRow | undefined> {
      return withDb(async () => {
        const { rows } = await db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE username = $1`, [
          username,
        ]);
        return rows[0];
      });
    },

    findById(id: string): Promise<UserRow | undefined> {
      return withDb(async () => {
        const { rows } = await db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
        return rows[0];
      });
    },

    /** The lowest and highest bcrypt cost among the stored hashes (a scan: read once, at start-up). */
    storedHashCosts(): Promise<{ lowest: number | undefined; highest: number | undefined }> {
      return withDb(async () => {
        const { rows } = await db.query<{ lowest: number | null; highest: number | null }>(
          `SELECT min(cost) AS lowest, max(cost) AS highest
             FROM (SELECT substring(password_hash FROM '[$]2[abxy]?[$]([0-9]{2})[$]')::int AS cost FROM users) AS c`,
        );
        return { lowest: rows[0]?.lowest ?? undefined, highest: rows[0]?.highest ?? undefined };
      });
    },

    /**
     * Stamp a successful login and store a re-hash of the password, unless the credentials changed since
     * `verifiedVersion` was read (a re-hash of the old password must never overwrite a new one).
     */
    recordLogin(id: string, newPasswordHash: string | undefined, verifiedVersion: number): Promise<void> {
      return withDb(async () => {
        await db.query(
          `UPDATE users SET last_login_at = now(),
             password_hash = CASE WHEN credentials_version = $3 THEN COALESCE($2, password_hash)
                                  ELSE password_hash END,
             updated_at = CASE WHEN $2::text IS NULL OR credentials_version <> $3 THEN updated_at ELSE now() END
           WHERE id = $1`,
          [id, newPasswordHash ?? null, verifiedVersion],
        );
      });
    },

    updatePassword(id: string, passwordHash: string): Promise<void> {
      return withDb(async () => {
        await db.query(
          `UPDATE users SET password_hash = $2, credentials_version = credentials_version + 1, updated_at = now()
           WHERE id = $1`,
          [id, passwordHash],
        );
      });
    },

    /** A page of users ordered by username; `after` is the last username of the previous page. */
    list(limit: number, after: string | undefined): Promise<UserRow[]> {
      return withDb(async () => {
        const { rows } = await db.query<UserRow>(
          `SELECT ${COLUMNS} FROM users WHERE ($1::text IS NULL OR username > $1) ORDER BY username LIMIT $2`,
          [after ?? null, limit],
        );
        return rows;
      });
    },

    /**
     * Insert an account moved in from elsewhere, with its hash, roles, disabled flag and creation time; undefined
     * when the normalised name exists (nothing is changed).
     */
    insertImported(user: {
      username: string;
      passwordHash: string;
      roles: string[];
      disabled: boolean;
      createdAt: Date | undefined;
    }): Promise<UserRow | undefined> {
      return withDb(async () => {
        const { rows } = await db.query<UserRow>(
          `INSERT INTO users (username, password_hash, roles, disabled, created_at)
           VALUES ($1, $2, $3, $4, COALESCE($5, now()))
           ON CONFLICT (username) DO NOTHING RETURNING ${COLUMNS}`,
          [user.username, user.passwordHash, user.roles, user.disabled, user.createdAt ?? null],
        );
        return rows[0];
      });
    },

    /**
     * Change roles and/or the disabled flag in one transaction that first locks every admin row (in id
     * order), so concurrent admin changes are serialised. `decide` sees the actor and the target as they
     * were and are, and the number of active admins after the change; it may throw to cancel the change, and
     * returns the audit events and the session revocation the change owes, which commit with it. Disabling or
     * re-enabling moves the credentials version.
     */
    update(
      id: string,
      actorId: string,
      patch: { roles?: string[] | undefined; disabled?: boolean | undefined },
      decide: (change: {
        actor: UserRow | undefined;
        before: UserRow;
        after: UserRow;
        activeAdminsAfter: number;
      }) => AccountChangeEffects,
    ): Promise<{ before: UserRow; after: UserRow } | undefined> {
      return withDb(() =>
        transaction(db, async (client) => {
          await client.query(`SELECT id FROM users WHERE 'admin' = ANY(roles) ORDER BY id FOR UPDATE`);
          const actor = await client.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [actorId]);
          const found = await client.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = $1 FOR UPDATE`, [
            id,
          ]);
          const before = found.rows[0];
          if (!before) return undefined;
          const { rows } = await client.query<UserRow>(
            `UPDATE users SET roles = COALESCE($2, roles), disabled = COALESCE($3, disabled),
               credentials_version = credentials_version + CASE WHEN disabled IS DISTINCT FROM COALESCE($3, disabled)
                                                                THEN 1 ELSE 0 END,
               updated_at = now()
             WHERE id = $1 RETURNING ${COLUMNS}`,
            [id, patch.roles ?? null, patch.disabled ?? null],
          );
          const after = rows[0]!;
          const admins = await client.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM users WHERE 'admin' = ANY(roles) AND NOT disabled`,
          );
          const effects = decide({
            actor: actor.rows[0],
            before,
            after,
            activeAdminsAfter: admins.rows[0]!.n,
          });
          for (const event of effects.events) await insertEvent(client, event);
          if (effects.revoke.endSessions || effects.revoke.privilegesChanged) {
            await queueRevocation(client, id, effects.revoke);
          }
          return { before, after };
        }),
      );
    },

    /** Did the start-up bootstrap create the account `username`? */
    isBootstrapAdmin(username: string): Promise<boolean> {
      return withDb(async () => {
        const { rowCount } = await db.query('SELECT 1 FROM admin_bootstrap WHERE username = $1', [username]);
        return (rowCount ?? 0) > 0;
      });
    },

    /**
     * Create the bootstrap admin and mark it as the bootstrap's, in one transaction. When the name is
     * taken: `bootstrapped` when the bootstrap created that account (nothing is changed), `taken` when some
     * other account holds it (nothing is changed either). Replicas starting together create one account.
     */
    createBootstrapAdmin(
      username: string,
      passwordHash: string,
    ): Promise<{ outcome: 'created'; user: UserRow } | { outcome: 'bootstrapped' | 'taken' }> {
      return withDb(() =>
        transaction(db, async (client) => {
          const inserted = await client.query<UserRow>(
            `INSERT INTO users (username, password_hash, roles) VALUES ($1, $2, ARRAY['user','admin'])
             ON CONFLICT (username) DO NOTHING RETURNING ${COLUMNS}`,
            [username, passwordHash],
          );
          const user = inserted.rows[0];
          if (user) {
            await client.query('INSERT INTO admin_bootstrap (username, user_id) VALUES ($1, $2)', [
              username,
              user.id,
            ]);
            return { outcome: 'created' as const, user };
          }
          const marked = await client.query('SELECT 1 FROM admin_bootstrap WHERE username = $1', [username]);
          return { outcome: (marked.rowCount ?? 0) > 0 ? ('bootstrapped' as const) : ('taken' as const) };
        }),
      );
    },
  };
}

export type UserStore = ReturnType<typeof createUserStore>;
