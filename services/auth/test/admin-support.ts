/** An auth instance on a database of its own with a bootstrap admin, and helpers for the admin API. */
import { http, type Scope, type TestDatabase, useFixture, usePgClient } from '@authstack/testing';
import type pg from 'pg';
import { type AuthFixture, type AuthFixtureOptions, registerAndLogin, startAuthFixture } from './support.ts';

export type Login = { access_token: string; refresh_token: string; user: { id: string; roles: string[] } };

export const BOOT = { username: 'chief', password: 'head of the whole place' };

export interface AdminStack {
  db: TestDatabase;
  auth: AuthFixture;
  /** The bootstrap admin, logged in. */
  admin: Login;
  /** A PostgreSQL client on the stack's database, opened at the first call, ended before the database is dropped. */
  sql(): Promise<pg.Client>;
}

export interface AdminStackOptions extends AuthFixtureOptions {
  /** The bootstrap admin's credentials (`BOOT` unless given). */
  credentials?: { username: string; password: string };
}

/** An auth fixture with a bootstrap admin, logged in; torn down by `scope`. */
export async function startWithAdmin(
  scope: Scope,
  { credentials = BOOT, env = {}, options = {} }: AdminStackOptions = {},
): Promise<AdminStack> {
  const auth = await startAuthFixture(scope, {
    env: {
      BOOTSTRAP_ADMIN_USERNAME: credentials.username,
      BOOTSTRAP_ADMIN_PASSWORD: credentials.password,
      ...env,
    },
    options,
  });
  const admin = (await http<Login>(`${auth.url}/auth/login`, { body: credentials })).body;
  let client: Promise<pg.Client> | undefined;
  return { db: auth.db, auth, admin, sql: () => (client ??= usePgClient(scope, auth.db.url)) };
}

/** `startWithAdmin` for the enclosing describe. */
export const useAdminStack = (options: AdminStackOptions = {}): AdminStack =>
  useFixture((scope) => startWithAdmin(scope, options));

export const patchUser = (baseUrl: string, token: string, id: string, body: unknown) =>
  http(`${baseUrl}/auth/admin/users/${id}`, { method: 'PATCH', token, body });

/** A new user promoted to admin by `by`, then logged in again so the token carries the role. */
export async function secondAdmin(baseUrl: string, by: Login) {
  const user = await registerAndLogin(baseUrl);
  const promoted = await patchUser(baseUrl, by.access_token, user.user.id, { roles: ['user', 'admin'] });
  if (promoted.status !== 200) throw new Error(`promote failed: ${promoted.status}`);
  const login = await http<Login>(`${baseUrl}/auth/login`, {
    body: { username: user.username, password: user.password },
  });
  if (!login.body.user.roles.includes('admin')) throw new Error('promotion not in the new login');
  return { ...login.body, username: user.username, password: user.password };
}

/** Active admins, read straight from PostgreSQL (the state the API must never let reach zero). */
export async function activeAdmins(sql: pg.ClientBase): Promise<string[]> {
  const { rows } = await sql.query<{ username: string }>(
    `SELECT username FROM users WHERE 'admin' = ANY(roles) AND NOT disabled ORDER BY username`,
  );
  return rows.map((r) => r.username);
}
