/**
 * Database set-up: creates the database when missing, then applies the migrations in `../migrations`
 * with node-pg-migrate. `node src/migrate.ts` (the compose `migrate` step and `make dev`), or `migrate()`.
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

if (import.meta.main) {
  try {
    const env = resolveFileVariables(process.env, ['DATABASE_URL']);
    const databaseUrl = env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/authstack';
    if (await ensureDatabase(databaseUrl)) console.log('migrate: created the database');
    await migrate(databaseUrl, (message) => console.log(`migrate: ${message}`));
    console.log('migrate: schema is up to date');
  } catch (error) {
    console.error(`migrate: failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
