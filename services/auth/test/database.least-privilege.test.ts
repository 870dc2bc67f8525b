/**
 * The services' database role (created by `migrate` from APP_DATABASE_URL): it can run the service, and it cannot
 * change the schema or act as a superuser.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { http, infraUrls, suiteScope, type TestDatabase, uniqueName, usePgClient } from '@authstack/testing';
import type pg from 'pg';
import { grantAppRole } from '../src/migrate.ts';
import { migratedDatabase, STRONG_PASSWORD, startTestAuth, testEnv, username } from './support.ts';

describe('the least-privilege database role', () => {
  const scope = suiteScope();
  let db: TestDatabase;
  let appUrl: string;
  let role: string;

  /** A client logged in as the role. */
  let app: pg.Client;

  before(async () => {
    role = uniqueName('authstack_app').toLowerCase();
    const admin = await usePgClient(scope, infraUrls().databaseUrl);
    scope.defer(() => admin.query(`DROP ROLE IF EXISTS "${role}"`));
    db = await migratedDatabase(scope); // dropped before the role: the role's grants live in it
    const url = new URL(db.url);
    url.username = role;
    url.password = 'app-role-password';
    appUrl = url.toString();
    await grantAppRole(db.url, appUrl);
    app = await usePgClient(scope, appUrl);
  });

  it('when the role is inspected, then it is no superuser and cannot create roles or databases', async () => {
    const { rows } = await app.query(
      'SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles WHERE rolname = current_user',
    );
    assert.deepEqual(rows[0], {
      rolsuper: false,
      rolcreaterole: false,
      rolcreatedb: false,
      rolbypassrls: false,
    });
  });

  it('when the role tries to create a table, then PostgreSQL refuses (42501 insufficient privilege)', async () => {
    await assert.rejects(
      app.query('CREATE TABLE intruder (id int)'),
      (error: { code?: string }) => error.code === '42501',
    );
  });

  it('when the role tries to alter a table or touch the migrations table, then PostgreSQL refuses', async () => {
    await assert.rejects(
      app.query('ALTER TABLE users ADD COLUMN intruder int'),
      (error: { code?: string }) => error.code === '42501',
    );
    await assert.rejects(
      app.query('SELECT * FROM pgmigrations'),
      (error: { code?: string }) => error.code === '42501',
    );
  });

  it('when the grant runs again (after a later migration), then it succeeds and changes nothing', async () => {
    assert.equal(await grantAppRole(db.url, appUrl), role);
  });

  it('when the owner itself is named as the app role, then the grant is refused', async () => {
    await assert.rejects(grantAppRole(db.url, db.url), /role of their own/);
  });

  it('when auth runs as the role, then register, login and the key set work', async () => {
    const auth = await startTestAuth(testEnv(db, { DATABASE_URL: appUrl }), {}, scope);
    const name = username();
    const registered = await http(`${auth.url}/auth/register`, {
      body: { username: name, password: STRONG_PASSWORD },
    });
    assert.equal(registered.status, 201);
    const login = await http(`${auth.url}/auth/login`, {
      body: { username: name, password: STRONG_PASSWORD },
    });
    assert.equal(login.status, 200);
    const jwks = await http<{ keys: unknown[] }>(`${auth.url}/.well-known/jwks.json`);
    assert.equal(jwks.status, 200);
    assert.ok(jwks.body.keys.length >= 1);
  });
});
