/**
 * Database set-up: creates the database when missing, then applies the migrations in `../migrations`
 * with node-pg-migrate. `node src/migrate.ts` (the compose `migrate` step, the Kubernetes Job and `make dev`), or
 * `setUpDatabase()` (all of it) and `migrate()` (the migrations only).
 * With `APP_DATABASE_URL` (or `_FILE`) set, it then creates or updates the services' least-privilege role named by
 * that URL (its user and password): LOGIN only, no superuser, no DDL, only the rights the services' queries need.
 * Migrations run as the role of `DATABASE_URL`, which owns the schema.
 *
 * Safe to run from several replicas at once (a Kubernetes Job retried, every pod of a Deployment running it first):
 * `setUpDatabase` holds a session-level advisory lock on the target database around the migrations and the role's
 * grants, so the others wait, then find nothing left to do. node-pg-migrate's own lock covers the migrations only,
 * and by default makes a second runner fail ("Another migration is already running") instead of waiting.
 */
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { resolveFileVariables } from './config.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

/** CREATE DATABASE when it does not exist (connecting to the server's `postgres` database). */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/^[A-Za-z0-9_]{1,63}$/.test(name))
    throw new Error(`DATABASE_URL: unsupported database name "${name}"`);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    await client.query(`CREATE DATABASE "${name}"`).catch((error: { code?: string }) => {
      // created meanwhile by another process: 42P04, or 23505 when both inserted into pg_database at once
      if (error.code !== '42P04' && error.code !== '23505') throw error;
    });
    return true;
  } finally {
    await client.end();
  }
}

export async function migrate(databaseUrl: string, log: (message: string) => void = () => {}): Promise<void> {
  await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    count: Number.POSITIVE_INFINITY,
    singleTransaction: true,
    // Wait for another runner instead of failing; setUpDatabase's own lock normally means there is none.
    advisoryLockMode: 'wait',
    log,
    verbose: false,
  });
}

/** Tables the services use; the migrations table stays the owner's. */
const APP_TABLE_RIGHTS = 'SELECT, INSERT, UPDATE, DELETE';

/**
 * Creates (or updates) the least-privilege role named by `appUrl` in the database of `ownerUrl`: it may log in,
 * connect, read and write the schema's tables and use its sequences, and nothing else (no CREATE anywhere, no
 * superuser, no role or database creation). Idempotent; run after every migration so new tables are covered.
 */
export async function grantAppRole(ownerUrl: string, appUrl: string): Promise<string> {
  const app = new URL(appUrl);
  const role = decodeURIComponent(app.username);
  const password = decodeURIComponent(app.password);
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(role))
    throw new Error(`APP_DATABASE_URL: unsupported role name "${role}"`);
  if (role === decodeURIComponent(new URL(ownerUrl).username)) {
    throw new Error('APP_DATABASE_URL: the services need a role of their own, not the owner');
  }
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const ident = client.escapeIdentifier(role);
    const database = client.escapeIdentifier(
      (await client.query('SELECT current_database() AS db')).rows[0].db,
    );
    const login = password ? `LOGIN PASSWORD ${client.escapeLiteral(password)}` : 'LOGIN';
    const attributes = `${login} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS`;
    await client.query('BEGIN');
    const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    await client.query(`${exists.rowCount ? 'ALTER' : 'CREATE'} ROLE ${ident} WITH ${attributes}`);
    await client.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
    await client.query(`REVOKE ALL ON DATABASE ${database} FROM ${ident}`);
    await client.query(`GRANT CONNECT ON DATABASE ${database} TO ${ident}`);
    await client.query(`GRANT USAGE ON SCHEMA public TO ${ident}`);
    await client.query(`GRANT ${APP_TABLE_RIGHTS} ON ALL TABLES IN SCHEMA public TO ${ident}`);
    await client.query(`REVOKE ALL ON TABLE pgmigrations FROM ${ident}`);
    await client.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${ident}`);
    await client.query('COMMIT');
    return role;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    await client.end();
  }
}

/** The advisory lock key of the whole set-up (not node-pg-migrate's own key): the first 8 bytes of SHA-256("authstack-migrate"). */
export const SETUP_LOCK_KEY = '2053352434934832542';

/**
 * The migration step: the database when missing, then, under a session-level advisory lock on it, the migrations
 * and the services' role. Concurrent callers (replicas, a retried Job) queue on the lock; a caller whose connection
 * dies releases it with its session, so a killed runner never leaves it held.
 */
export async function setUpDatabase(
  databaseUrl: string,
  appDatabaseUrl: string | undefined,
  log: (message: string) => void = () => {},
): Promise<void> {
  if (await ensureDatabase(databaseUrl)) log('created the database');
  const lock = new pg.Client({ connectionString: databaseUrl, application_name: 'authstack-migrate' });
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [SETUP_LOCK_KEY]);
    await migrate(databaseUrl, log);
    log('schema is up to date');
    if (appDatabaseUrl) {
      const role = await grantAppRole(databaseUrl, appDatabaseUrl);
      log(`role ${role} may use the tables (no DDL, no superuser)`);
    }
    await lock.query('SELECT pg_advisory_unlock($1)', [SETUP_LOCK_KEY]);
  } finally {
    await lock.end();
  }
}

if (import.meta.main) {
  try {
    const env = resolveFileVariables(process.env, ['DATABASE_URL', 'APP_DATABASE_URL']);
    const databaseUrl = env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/authstack';
    await setUpDatabase(databaseUrl, env.APP_DATABASE_URL, (message) => console.log(`migrate: ${message}`));
  } catch (error) {
    console.error(`migrate: failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
