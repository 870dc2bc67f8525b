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
