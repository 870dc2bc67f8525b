/**
 * Admin API: an account's sessions, listed and ended by an admin (all of them or one), each end audited as
 * `sessions_revoked` with the acting admin; the ended session's tokens stop working at once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { http } from '@authstack/testing';
import { BOOT, useAdminStack } from './admin-support.ts';
import { registerAndLogin } from './support.ts';

describe("admin: an account's sessions", () => {
  const stack = useAdminStack();

  const admin = (method: string, path: string) =>
    http<Record<string, unknown>>(`${stack.auth.url}/auth/admin${path}`, {
      method,
      token: stack.admin.access_token,
    });
  const events = async (userId: string) =>
    (
      await http<{ events: { type: string; details: Record<string, unknown> }[] }>(
        `${stack.auth.url}/auth/admin/events?type=sessions_revoked&user_id=${userId}`,
        { token: stack.admin.access_token },
      )
    ).body.events;

  it('when an admin ends one session, then only that session ends and it is audited', async () => {
    const user = await registerAndLogin(stack.auth.url);
    const other = await http<{ access_token: string }>(`${stack.auth.url}/auth/login`, {
      body: { username: user.username, password: user.password },
    });
    const listed = await admin('GET', `/users/${user.user.id}/sessions`);
    const sessions = listed.body.sessions as { id: string }[];
    assert.equal(sessions.length, 2);
    const victim = sessions.find((s) => s.id !== JSON.parse(atob(user.access_token.split('.')[1]!)).sid)!;

    const ended = await admin('DELETE', `/users/${user.user.id}/sessions/${victim.id}`);
    assert.equal(ended.status, 200);
    assert.equal(
      (await http(`${stack.auth.url}/auth/me`, { token: other.body.access_token })).body.code,
      'session_revoked',
    );
    assert.equal((await http(`${stack.auth.url}/auth/me`, { token: user.access_token })).status, 200);
    assert.deepEqual(
      (await events(user.user.id)).map((e) => e.details),
      [{ by: BOOT.username, revoked: 1, sid: victim.id }],
    );
    const again = await admin('DELETE', `/users/${user.user.id}/sessions/${victim.id}`);
    assert.deepEqual([again.status, again.body.code], [404, 'session_not_found']);
  });

  it('when an admin ends every session of an account, then all its tokens stop working and it is audited', async () => {
    const user = await registerAndLogin(stack.auth.url);
    const ended = await admin('DELETE', `/users/${user.user.id}/sessions`);
    assert.deepEqual([ended.status, ended.body.revoked], [200, 1]);
    assert.equal(
      (await http(`${stack.auth.url}/auth/me`, { token: user.access_token })).body.code,
      'session_revoked',
    );
    assert.deepEqual((await admin('GET', `/users/${user.user.id}/sessions`)).body.sessions, []);
    assert.deepEqual(
      (await events(user.user.id)).map((e) => e.details),
      [{ by: BOOT.username, revoked: 1 }],
    );
  });

  it('when the account does not exist, then 404 user_not_found', async () => {
    for (const [method, path] of [
      ['GET', `/users/${crypto.randomUUID()}/sessions`],
      ['DELETE', `/users/${crypto.randomUUID()}/sessions`],
      ['GET', '/users/not-a-uuid/sessions'],
    ] as const) {
      const res = await admin(method, path);
      assert.deepEqual([res.status, res.body.code], [404, 'user_not_found'], path);
    }
  });

  it('when a non-admin asks, then 403 insufficient_scope', async () => {
    const user = await registerAndLogin(stack.auth.url);
    const res = await http(`${stack.auth.url}/auth/admin/users/${user.user.id}/sessions`, {
      token: user.access_token,
    });
    assert.deepEqual([res.status, res.body.code], [403, 'insufficient_scope']);
  });
});
