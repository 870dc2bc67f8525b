/**
 * The migration step run by several replicas at once (a Deployment's pods, a retried Kubernetes Job): every runner
 * succeeds and the schema is applied once.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { infraUrls, uniqueName } from '@authstack/testing';
import pg from 'pg';
import { MIGRATIONS_DIR, setUpDatabase } from '../src/migrate.ts';

const RUNNERS = 6;

describe('when several migration steps run at once on a fresh database', () => {
  const name = uniqueName('authstack_test_migrate');
  const role = uniqueName('authstack_app').toLowerCase();
  const serverUrl = new URL(infraUrls().databaseUrl);
  const databaseUrl = Object.assign(new URL(serverUrl), { pathname: `/${name}` }).toString();
  const appUrl = Object.assign(new URL(databaseUrl), {
    username: role,
    password: 'app-role-password',
  }).toString();

  const asServer = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: serverUrl.toString() });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  after(async () => {
    await asServer(async (client) => {
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.query(`DROP ROLE IF EXISTS "${role}"`);
    });
  });

  it('then every runner succeeds, each migration is recorded once and the services role can log in', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: RUNNERS }, () => setUpDatabase(databaseUrl, appUrl)),
    );
    const failures = results.flatMap((result) =>
      result.status === 'rejected' ? [String((result.reason as Error).message)] : [],
    );
    assert.deepEqual(failures, [], 'no runner fails');

    const files = (await readdir(MIGRATIONS_DIR)).filter((file) => file.endsWith('.sql'));
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ name: string; n: number }>(
        'SELECT name, count(*)::int AS n FROM pgmigrations GROUP BY name ORDER BY name',
      );
      assert.deepEqual(
        rows,
        files.sort().map((file) => ({ name: file.replace(/\.sql$/, ''), n: 1 })),
        'each migration applied exactly once',
      );
      const tables = await client.query(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'users'",
      );
      assert.equal(tables.rowCount, 1);
    } finally {
      await client.end();
    }
    const app = new pg.Client({ connectionString: appUrl });
    await app.connect();
    try {
      const { rows } = await app.query<{ rights: boolean }>(
        "SELECT has_table_privilege('users', 'SELECT, INSERT, UPDATE, DELETE') AS rights",
      );
      assert.equal(rows[0]?.rights, true, 'the grants ran too');
    } finally {
      await app.end();
    }
  });
});
