/**
 * A demoted admin, resource side: after an admin is demoted, `/api/admin` in session mode refuses
 * the demoted admin's token at once (their sessions are gone); stateless mode keeps the documented
 * revocation window (the token is valid until `exp`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { patchUser, secondAdmin } from '@authstack/auth/testing/admin';
import { http } from '@authstack/testing';
import { useStack } from './support.ts';

describe('/api/admin after a demotion, stateless versus session mode', () => {
  const stack = useStack({ admin: true });

  it('when an admin is demoted, then session mode answers 401 at once and stateless mode 200 until exp', async () => {
    const { auth } = stack;
    const admin = stack.admin!;
    const b = await secondAdmin(auth.url, admin);
    for (const resource of [stack.stateless, stack.session]) {
      assert.equal((await http(`${resource.url}/api/admin`, { token: b.access_token })).status, 200);
    }

    assert.equal((await patchUser(auth.url, admin.access_token, b.user.id, { roles: ['user'] })).status, 200);

    const refused = await http(`${stack.session.url}/api/admin`, { token: b.access_token });
    assert.equal(refused.status, 401);
    assert.equal(refused.body.code, 'session_revoked');
    assert.match(refused.headers.get('www-authenticate') ?? '', /error="invalid_token"/);

    const window = await http(`${stack.stateless.url}/api/admin`, { token: b.access_token });
    assert.equal(window.status, 200, 'the documented revocation window: valid until exp');
  });

  it('when an admin is disabled, then session mode answers 401 at once', async () => {
    const { auth } = stack;
    const admin = stack.admin!;
    const b = await secondAdmin(auth.url, admin);
    assert.equal((await patchUser(auth.url, admin.access_token, b.user.id, { disabled: true })).status, 200);
    const refused = await http(`${stack.session.url}/api/admin`, { token: b.access_token });
    assert.equal(refused.status, 401);
    assert.equal(refused.body.code, 'session_revoked');
  });
});
