/**
 * Audit gaps: a wrong `current_password` on password change and re-enabling an
 * account were not audited.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { http } from '@authstack/testing';
import { patchUser, useAdminStack } from './admin-support.ts';
import { registerAndLogin } from './support.ts';

type Events = {
  events: { type: string; user_id: string; username: string; details: Record<string, unknown> }[];
};

describe('account changes the audit trail missed', () => {
  const stack = useAdminStack();

  const events = (query: string) =>
    http<Events>(`${stack.auth.url}/auth/admin/events?${query}`, { token: stack.admin.access_token });

  it('when a password change gives the wrong current password, then a password_change_failure event is written without the password', async () => {
    const user = await registerAndLogin(stack.auth.url);
    const res = await http(`${stack.auth.url}/auth/password`, {
      token: user.access_token,
      body: { current_password: 'not my password at all', new_password: 'a fresh and private phrase' },
    });
    assert.equal(res.status, 401);
    assert.equal(res.body.code, 'invalid_credentials');

    const found = await events(`type=password_change_failure&user_id=${user.user.id}`);
    assert.equal(found.status, 200);
    assert.equal(found.body.events.length, 1);
    assert.equal(found.body.events[0]!.username, user.username);
    assert.equal(found.body.events[0]!.details.reason, 'wrong_password');
    assert.equal(JSON.stringify(found.body).includes('not my password at all'), false);
  });

  it('when an admin re-enables an account, then a user_enabled event names the admin', async () => {
    const user = await registerAndLogin(stack.auth.url);
    const url = stack.auth.url;
    assert.equal(
      (await patchUser(url, stack.admin.access_token, user.user.id, { disabled: true })).status,
      200,
    );
    assert.equal(
      (await patchUser(url, stack.admin.access_token, user.user.id, { disabled: false })).status,
      200,
    );
    // enabling an enabled account changes nothing and writes nothing
    assert.equal(
      (await patchUser(url, stack.admin.access_token, user.user.id, { disabled: false })).status,
      200,
    );

    const found = await events(`type=user_enabled&user_id=${user.user.id}`);
    assert.equal(found.status, 200);
    assert.equal(found.body.events.length, 1);
    assert.equal(found.body.events[0]!.details.by, 'chief');
    const login = await http(`${url}/auth/login`, {
      body: { username: user.username, password: user.password },
    });
    assert.equal(login.status, 200, 'the account works again');
  });
});
