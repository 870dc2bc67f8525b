import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { http, testScope, usePgClient } from '@authstack/testing';
import { loadConfig } from '../src/config.ts';
import { registerAndLogin, STRONG_PASSWORD, testEnv, useAuth } from './support.ts';

type Tokens = { access_token: string; refresh_token: string; code?: string };

/** Successful logins must not pile up sessions without bound. */
describe('sessions per account are capped (SESSIONS_MAX_PER_USER)', () => {
  // Parallel logins of one account each reserve a point of the per-(username, IP) failure limit.
  const auth = useAuth({ env: { SESSIONS_MAX_PER_USER: '3', LOGIN_MAX_FAILURES_PER_USER_IP: '100' } });
  const login = (username: string) =>
    http<Tokens>(`${auth.url}/auth/login`, { body: { username, password: STRONG_PASSWORD } });
  const sessionCount = async (token: string) =>
    (await http<{ sessions: unknown[] }>(`${auth.url}/auth/sessions`, { token })).body.sessions.length;

  it('when an account logs in once more than the cap, then its oldest session ends and the others live', async (t) => {
    const first = await registerAndLogin(auth.url);
    const second = (await login(first.username)).body;
    const third = (await login(first.username)).body;
    assert.equal(await sessionCount(third.access_token), 3);
    const fourth = await login(first.username);
    assert.equal(fourth.status, 200);

    assert.equal(await sessionCount(fourth.body.access_token), 3);
    const oldest = await http(`${auth.url}/auth/refresh`, { body: { refresh_token: first.refresh_token } });
    assert.equal(oldest.status, 401);
    assert.equal(oldest.body.code, 'invalid_grant');
    const me = await http(`${auth.url}/auth/me`, { token: first.access_token });
    assert.equal(me.status, 401);
    assert.equal(me.body.code, 'session_revoked');
    for (const live of [second, third]) {
      assert.equal((await http(`${auth.url}/auth/me`, { token: live.access_token })).status, 200);
    }

    const sql = await usePgClient(testScope(t), auth.db.url);
    const { rows } = await sql.query(
      `SELECT details FROM auth_events WHERE type = 'login_success' AND user_id = $1 AND details ? 'evicted'`,
      [first.user.id],
    );
    assert.equal(rows.length, 1, 'the login that evicted says which session it ended');
  });

  it('when SESSIONS_MAX_PER_USER is not a whole number from 1 to 1000, then the configuration is refused naming it', () => {
    for (const value of ['0', '1001', 'many']) {
      assert.throws(
        () => loadConfig(testEnv(auth.db, { SESSIONS_MAX_PER_USER: value })),
        /SESSIONS_MAX_PER_USER/,
      );
    }
    assert.equal(loadConfig(testEnv(auth.db)).sessionsMaxPerUser, 50, 'the default');
  });

  it('when 12 logins of one account run in parallel, then exactly the cap of sessions is left', async () => {
    const user = await registerAndLogin(auth.url);
    const logins = await Promise.all(Array.from({ length: 12 }, () => login(user.username)));
    assert.ok(logins.every((res) => res.status === 200));
    const alive = [];
    for (const res of [user, ...logins.map((l) => l.body)]) {
      if ((await http(`${auth.url}/auth/me`, { token: res.access_token })).status === 200) alive.push(res);
    }
    assert.equal(alive.length, 3);
    assert.equal(await sessionCount(alive[0]!.access_token), 3);
  });
});
