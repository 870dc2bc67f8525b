/**
 * Database set-up: creates the database when missing, then applies the migrations in `../migrations`
 * with node-pg-migrate. `node src/migrate.ts` (the compose `migrate` step and `make dev`), or `migrate()`.
 * With `APP_DATABASE_URL` (or `_FILE`) set, it then creates or updates the services' least-privilege role named by
 * that URL (its user and password): LOGIN only, no superuser, no DDL, only the rights the services' queries need.
 * Migrations run as the role of `DATABASE_URL`, which owns the schema.
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
      if (error.code !== '42P04') throw error; // created meanwhile by another process
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

if (import.meta.main) {
  try {
    const env = resolveFileVariables(process.env, ['DATABASE_URL', 'APP_DATABASE_URL']);
    const databaseUrl = env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/authstack';
    if (await ensureDatabase(databaseUrl)) console.log('migrate: created the database');
    await migrate(databaseUrl, (message) => console.log(`migrate: ${message}`));
    console.log('migrate: schema is up to date');
    if (env.APP_DATABASE_URL) {
      const role = await grantAppRole(databaseUrl, env.APP_DATABASE_URL);
      console.log(`migrate: role ${role} may use the tables (no DDL, no superuser)`);
    }
  } catch (error) {
    console.error(`migrate: failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
