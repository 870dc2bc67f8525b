/** SQL for the load-test accounts of `make seed` / `make unseed`: rows of `users` marked `load_test`. */
import type { Db } from './db.ts';

const BATCH = 2_000;

export function createLoadTestUserStore(db: Db) {
  return {
    /**
     * Insert the usernames with one shared password hash, marked as load-test accounts, in batches. A marked
     * row that exists gets the hash anew (the pepper or cost may have changed); an unmarked row of the same name
     * (a real account) is left alone. Returns the names that are load-test accounts now.
     */
    async upsert(usernames: string[], passwordHash: string): Promise<string[]> {
      const seeded: string[] = [];
      for (let start = 0; start < usernames.length; start += BATCH) {
        const batch = usernames.slice(start, start + BATCH);
        await db.query(
          `INSERT INTO users (username, password_hash, load_test)
             SELECT name, $2, true FROM unnest($1::text[]) AS name
           ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash, disabled = false,
             updated_at = now()
           WHERE users.load_test`,
          [batch, passwordHash],
        );
        const { rows } = await db.query<{ username: string }>(
          'SELECT username FROM users WHERE load_test AND username = ANY($1::text[]) ORDER BY username',
          [batch],
        );
        for (const row of rows) seeded.push(row.username);
      }
      return seeded;
    },

    /** The ids of every load-test account. */
    async ids(): Promise<string[]> {
      const { rows } = await db.query<{ id: string }>('SELECT id FROM users WHERE load_test');
      return rows.map((row) => row.id);
    },

    /** Delete every load-test account; the number deleted. Their audit events keep no user id. */
    async deleteAll(): Promise<number> {
      const { rowCount } = await db.query('DELETE FROM users WHERE load_test');
      return rowCount ?? 0;
    },
  };
}
