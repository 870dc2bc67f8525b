/** SQL for accounts. The only place that knows the `users` table. */
import type { Db } from './db.ts';
import { withDb } from './db.ts';

export interface UserRow {
  id: string;
  username: string;
  passwordHash: string;
  roles: string[];
  disabled: boolean;
  createdAt: Date;
  lastLoginAt: Date | null;
}

const COLUMNS = `id, username, password_hash AS "passwordHash", roles, disabled,
  created_at AS "createdAt", last_login_at AS "lastLoginAt"`;

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

    recordLogin(id: string, newPasswordHash: string | undefined): Promise<void> {
      return withDb(async () => {
        await db.query(
          `UPDATE users SET last_login_at = now(),
             password_hash = COALESCE($2, password_hash),
             updated_at = CASE WHEN $2::text IS NULL THEN updated_at ELSE now() END
           WHERE id = $1`,
          [id, newPasswordHash ?? null],
        );
      });
    },

    updatePassword(id: string, passwordHash: string): Promise<void> {
      return withDb(async () => {
        await db.query('UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1', [
          id,
          passwordHash,
        ]);
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
     * Change roles and/or the disabled flag in one transaction that locks the admins first, so two admins
     * demoting each other at once cannot leave the system without one. `guard` sees the admin count
     * after the change and may throw to cancel it.
     */
    update(
      id: string,
      patch: { roles?: string[] | undefined; disabled?: boolean | undefined },
      guard: (before: UserRow, activeAdminsAfter: number) => void,
    ): Promise<{ before: UserRow; after: UserRow } | undefined> {
      return withDb(async () => {
        const client = await db.connect();
        try {
          await client.query('BEGIN');
          await client.query(`SELECT id FROM users WHERE 'admin' = ANY(roles) FOR UPDATE`);
          const found = await client.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = $1 FOR UPDATE`, [
            id,
          ]);
          const before = found.rows[0];
          if (!before) {
            await client.query('ROLLBACK');
            return undefined;
          }
          const { rows } = await client.query<UserRow>(
            `UPDATE users SET roles = COALESCE($2, roles), disabled = COALESCE($3, disabled), updated_at = now()
             WHERE id = $1 RETURNING ${COLUMNS}`,
            [id, patch.roles ?? null, patch.disabled ?? null],
          );
          const after = rows[0]!;
          const admins = await client.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM users WHERE 'admin' = ANY(roles) AND NOT disabled`,
          );
          guard(before, admins.rows[0]!.n);
          await client.query('COMMIT');
          return { before, after };
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          throw error;
        } finally {
          client.release();
        }
      });
    },

    /** Create the admin if missing, or make sure the existing account has the admin role. */
    upsertAdmin(username: string, passwordHash: string): Promise<{ created: boolean; user: UserRow }> {
      return withDb(async () => {
        const { rows } = await db.query<UserRow & { created: boolean }>(
          `INSERT INTO users (username, password_hash, roles) VALUES ($1, $2, ARRAY['user','admin'])
           ON CONFLICT (username) DO UPDATE
             SET roles = CASE WHEN 'admin' = ANY(users.roles) THEN users.roles
                              ELSE array_append(users.roles, 'admin') END,
                 updated_at = now()
           RETURNING ${COLUMNS}, (xmax = 0) AS created`,
          [username, passwordHash],
        );
        const { created, ...user } = rows[0]!;
        return { created, user };
      });
    },
  };
}

export type UserStore = ReturnType<typeof createUserStore>;
