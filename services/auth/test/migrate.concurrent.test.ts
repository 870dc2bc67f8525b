/**
 * The migration step run by several replicas at once (a Deployment's pods, a retried Kubernetes Job): every runner
 * succeeds and the schema is applied once.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { before, describe, it } from 'node:test';
import { infraUrls, suiteScope, testScope, uniqueName, usePgClient } from '@authstack/testing';
import { MIGRATIONS_DIR, setUpDatabase } from '../src/migrate.ts';

const RUNNERS = 6;

describe('when several migration steps run at once on a fresh database', () => {
  const scope = suiteScope();
  const name = uniqueName('authstack_test_migrate');
  const role = uniqueName('authstack_app').toLowerCase();
  const serverUrl = new URL(infraUrls().databaseUrl);
  const databaseUrl = Object.assign(new URL(serverUrl), { pathname: `/${name}` }).toString();
  const appUrl = Object.assign(new URL(databaseUrl), {
    username: role,
    password: 'app-role-password',
  }).toString();

  // The runners under test create the database and the role, so no fixture does: dropped here (the database first,
  // the role's grants live in it).
  before(async () => {
    const server = await usePgClient(scope, serverUrl.toString());
    scope.defer(async () => {
      await server.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await server.query(`DROP ROLE IF EXISTS "${role}"`);
    });
  });

  it('then every runner succeeds, each migration is recorded once and the services role can log in', async (t) => {
    const results = await Promise.allSettled(
      Array.from({ length: RUNNERS }, () => setUpDatabase(databaseUrl, appUrl)),
    );
    const failures = results.flatMap((result) =>
      result.status === 'rejected' ? [String((result.reason as Error).message)] : [],
    );
    assert.deepEqual(failures, [], 'no runner fails');

    const files = (await readdir(MIGRATIONS_DIR)).filter((file) => file.endsWith('.sql'));
    const client = await usePgClient(testScope(t), databaseUrl);
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

    const app = await usePgClient(testScope(t), appUrl);
    const rights = await app.query<{ rights: boolean }>(
      "SELECT has_table_privilege('users', 'SELECT, INSERT, UPDATE, DELETE') AS rights",
    );
    assert.equal(rights.rows[0]?.rights, true, 'the grants ran too');
  });
});
