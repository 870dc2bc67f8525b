/**
 * `/auth/me` through its use case (`currentAccount`, domain/accounts.ts): the account as it is now, not as the
 * token says. An account disabled outside the API (an operator at psql, whose change revokes no session) is
 * refused although its session and token are still valid.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { http } from '@authstack/testing';
import { currentAccount } from '../src/domain/accounts.ts';
import { useAdminStack } from './admin-support.ts';
import { registerAndLogin } from './support.ts';

/** The session id of an access token (its `sid` claim; the token was just issued by the service under test). */
const sidOf = (token: string): string =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')).sid;

describe('/auth/me and the currentAccount use case', () => {
  const stack = useAdminStack();

  it('when the use case is called for a live account, then it gives what /auth/me answers', async () => {
    const user = await registerAndLogin(stack.auth.url);
    const sid = sidOf(user.access_token);

    const account = await currentAccount(stack.auth.service.useCases, { userId: user.user.id, sid });
    const me = await http(`${stack.auth.url}/auth/me`, { token: user.access_token });

    assert.equal(me.status, 200);
    assert.deepEqual(me.body, account);
    assert.equal(account.id, user.user.id);
    assert.equal(account.username, user.username);
    assert.equal(account.session_id, sid);
    assert.equal(me.headers.get('cache-control'), 'no-store');
  });

  it('when the account is disabled outside the API, then /auth/me answers 401 invalid_token while its session lives', async () => {
    const user = await registerAndLogin(stack.auth.url);
    await (await stack.sql()).query('UPDATE users SET disabled = true WHERE id = $1', [user.user.id]);

    const me = await http(`${stack.auth.url}/auth/me`, { token: user.access_token });

    assert.equal(me.status, 401);
    assert.equal(me.body.code, 'invalid_token');
    assert.equal(me.body.title, 'Account no longer active');
    const alive = await stack.auth.service.useCases.sessions.isAlive(user.user.id, sidOf(user.access_token));
    assert.equal(alive, true, 'the session itself was not revoked: the refusal is the account check');
  });

  it('when the account is deleted outside the API, then the use case refuses it with invalid_token', async () => {
    const user = await registerAndLogin(stack.auth.url);
    await (await stack.sql()).query('DELETE FROM users WHERE id = $1', [user.user.id]);

    await assert.rejects(
      currentAccount(stack.auth.service.useCases, { userId: user.user.id, sid: sidOf(user.access_token) }),
      (error: { status?: number; code?: string }) => error.status === 401 && error.code === 'invalid_token',
    );
  });
});
