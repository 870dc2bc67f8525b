import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { http } from '@authstack/testing';
import { decodePart } from '@authstack/testing/tokens';
import { registerAndLogin, STRONG_PASSWORD, useAuth } from './support.ts';

type Session = {
  id: string;
  current: boolean;
  ip: string;
  user_agent: string;
  created_at: string;
  last_used_at: string;
};

describe('logout, logout-all, session list, password change', () => {
  const auth = useAuth();
  const login = (username: string, password = STRONG_PASSWORD, userAgent = 'test-agent') =>
    http<{ access_token: string; refresh_token: string }>(`${auth.url}/auth/login`, {
      body: { username, password },
      headers: { 'user-agent': userAgent },
    });
  const sessions = async (token: string) =>
    (await http<{ sessions: Session[] }>(`${auth.url}/auth/sessions`, { token })).body.sessions;

  it('when a user logs out with the access token, then refresh and /auth/me answer 401; logging out again is 200', async () => {
    const user = await registerAndLogin(auth.url);
    const out = await http(`${auth.url}/auth/logout`, { method: 'POST', token: user.access_token });
    assert.equal(out.status, 200);
    const me = await http(`${auth.url}/auth/me`, { token: user.access_token });
    assert.equal(me.status, 401);
    assert.equal(me.body.code, 'session_revoked');
    assert.equal(
      (await http(`${auth.url}/auth/refresh`, { body: { refresh_token: user.refresh_token } })).status,
      401,
    );
    assert.equal(
      (await http(`${auth.url}/auth/logout`, { method: 'POST', token: user.access_token })).status,
      200,
    );
  });

  it('when a user logs out with the refresh token, then that session ends', async () => {
    const user = await registerAndLogin(auth.url);
    assert.equal(
      (await http(`${auth.url}/auth/logout`, { body: { refresh_token: user.refresh_token } })).status,
      200,
    );
    assert.equal((await http(`${auth.url}/auth/me`, { token: user.access_token })).status, 401);
    assert.equal(
      (await http(`${auth.url}/auth/logout`, { body: { refresh_token: user.refresh_token } })).status,
      200,
    );
  });

  it('when logout has neither a token nor a refresh token, or a bad token, then 401', async () => {
    const none = await http(`${auth.url}/auth/logout`, { method: 'POST' });
    assert.equal(none.status, 401);
    assert.equal(none.body.code, 'token_missing');
    const bad = await http(`${auth.url}/auth/logout`, { method: 'POST', token: 'a.b.c' });
    assert.equal(bad.status, 401);
  });

  it('when a user has several sessions, then the list marks the current one and logout-all leaves none', async () => {
    const user = await registerAndLogin(auth.url);
    const other = await login(user.username, user.password, 'second-device');
    const list = await sessions(user.access_token);
    assert.equal(list.length, 2);
    const current = list.filter((s) => s.current);
    assert.equal(current.length, 1);
    assert.equal(current[0]!.id, decodePart(user.access_token, 1).sid);
    assert.ok(list.some((s) => s.user_agent === 'second-device'));
    assert.ok(list.every((s) => s.ip.length > 0 && !Number.isNaN(Date.parse(s.last_used_at))));

    const all = await http(`${auth.url}/auth/logout-all`, { method: 'POST', token: other.body.access_token });
    assert.equal(all.status, 200);
    assert.equal(all.body.revoked, 2);
    const fresh = await login(user.username);
    assert.deepEqual(
      (await sessions(fresh.body.access_token)).map((s) => s.current),
      [true],
      'only the new session is left',
    );
    for (const token of [user.refresh_token, other.body.refresh_token]) {
      assert.equal((await http(`${auth.url}/auth/refresh`, { body: { refresh_token: token } })).status, 401);
    }
  });

  it("when a user deletes one of their sessions, then it ends; someone else's session id gives 404", async () => {
    const alice = await registerAndLogin(auth.url);
    const aliceOther = await login(alice.username);
    const bob = await registerAndLogin(auth.url);
    const bobSid = decodePart(bob.access_token, 1).sid as string;
    const foreign = await http(`${auth.url}/auth/sessions/${bobSid}`, {
      method: 'DELETE',
      token: alice.access_token,
    });
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.code, 'session_not_found');
    assert.equal(
      (await http(`${auth.url}/auth/me`, { token: bob.access_token })).status,
      200,
      "bob's session lives",
    );
    assert.equal(
      (await http(`${auth.url}/auth/sessions/not-a-uuid`, { method: 'DELETE', token: alice.access_token }))
        .status,
      404,
    );
    const otherSid = decodePart(aliceOther.body.access_token, 1).sid as string;
    const own = await http(`${auth.url}/auth/sessions/${otherSid}`, {
      method: 'DELETE',
      token: alice.access_token,
    });
    assert.equal(own.status, 200);
    assert.equal((await http(`${auth.url}/auth/me`, { token: aliceOther.body.access_token })).status, 401);
  });

  it('when the password changes, then other sessions end, this one stays, and the new password works', async () => {
    const user = await registerAndLogin(auth.url);
    const other = await login(user.username);
    const newPassword = 'an entirely new passphrase';
    const wrong = await http(`${auth.url}/auth/password`, {
      token: user.access_token,
      body: { current_password: 'not my password', new_password: newPassword },
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, 'invalid_credentials');
    const weak = await http(`${auth.url}/auth/password`, {
      token: user.access_token,
      body: { current_password: user.password, new_password: 'password1' },
    });
    assert.equal(weak.status, 400);
    assert.equal(weak.body.code, 'password_common');
    const changed = await http(`${auth.url}/auth/password`, {
      token: user.access_token,
      body: { current_password: user.password, new_password: newPassword },
    });
    assert.equal(changed.status, 200);
    assert.equal(changed.body.revoked, 1);
    assert.equal((await http(`${auth.url}/auth/me`, { token: user.access_token })).status, 200);
    assert.equal((await http(`${auth.url}/auth/me`, { token: other.body.access_token })).status, 401);
    assert.equal((await login(user.username, user.password)).status, 401);
    assert.equal((await login(user.username, newPassword)).status, 200);
  });
});
