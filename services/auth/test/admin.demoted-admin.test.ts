/**
 * A demoted admin kept the admin API, because the admin routes trusted the
 * `roles` claim of the access token. Admin authorisation now reads the account's current roles and state,
 * and removing a role or disabling an account ends that user's sessions at once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { http } from '@authstack/testing';
import { type Login, patchUser, secondAdmin, useAdminStack } from './admin-support.ts';

describe('a demoted or disabled admin loses the admin API at once', () => {
  const stack = useAdminStack();

  it('when an admin is demoted, then their existing token can neither list users nor re-promote itself', async () => {
    const { auth, admin } = stack;
    const b = await secondAdmin(auth.url, admin);
    assert.equal((await http(`${auth.url}/auth/admin/users`, { token: b.access_token })).status, 200);

    const demoted = await patchUser(auth.url, admin.access_token, b.user.id, { roles: ['user'] });
    assert.equal(demoted.status, 200);

    const list = await http(`${auth.url}/auth/admin/users`, { token: b.access_token });
    assert.equal(list.status, 401);
    assert.equal(list.body.code, 'session_revoked');
    const repromote = await patchUser(auth.url, b.access_token, b.user.id, { roles: ['user', 'admin'] });
    assert.equal(repromote.status, 401);
    const refreshed = await http(`${auth.url}/auth/refresh`, { body: { refresh_token: b.refresh_token } });
    assert.equal(refreshed.status, 401, 'the demoted admin has no session left to refresh');
    assert.equal(refreshed.body.code, 'invalid_grant');

    const users = await http<{ users: { id: string; roles: string[] }[] }>(
      `${auth.url}/auth/admin/users?limit=100`,
      { token: admin.access_token },
    );
    assert.deepEqual(users.body.users.find((u) => u.id === b.user.id)?.roles, ['user']);
  });

  it('when an admin is disabled, then their token is refused by the admin API and their sessions are gone', async () => {
    const { auth, admin } = stack;
    const b = await secondAdmin(auth.url, admin);
    assert.equal((await patchUser(auth.url, admin.access_token, b.user.id, { disabled: true })).status, 200);
    const res = await http(`${auth.url}/auth/admin/events`, { token: b.access_token });
    assert.equal(res.status, 401);
    assert.equal(res.body.code, 'session_revoked');
  });

  it('when the role is removed outside the API while the session lives, then the admin API answers 403 from the current roles', async () => {
    const { auth, admin, sql } = stack;
    const b: Login = await secondAdmin(auth.url, admin);
    await (await sql()).query(`UPDATE users SET roles = ARRAY['user'] WHERE id = $1`, [b.user.id]);
    assert.equal((await http(`${auth.url}/auth/me`, { token: b.access_token })).status, 200, 'session alive');

    for (const [method, path, body] of [
      ['GET', '/auth/admin/users', undefined],
      ['GET', '/auth/admin/events', undefined],
      ['POST', '/auth/admin/keys/rotate', undefined],
      ['PATCH', `/auth/admin/users/${b.user.id}`, { roles: ['user', 'admin'] }],
    ] as const) {
      const res = await http(`${auth.url}${path}`, {
        method,
        token: b.access_token,
        ...(body ? { body } : {}),
      });
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.equal(res.body.code, 'insufficient_scope');
      assert.match(res.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
    }
  });

  it('when the account is disabled outside the API while the session lives, then the admin API refuses it', async () => {
    const { auth, admin, sql } = stack;
    const b = await secondAdmin(auth.url, admin);
    await (await sql()).query('UPDATE users SET disabled = true WHERE id = $1', [b.user.id]);
    const res = await http(`${auth.url}/auth/admin/users`, { token: b.access_token });
    assert.equal(res.status, 401);
    assert.equal(res.body.code, 'session_revoked');
    assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });
});
