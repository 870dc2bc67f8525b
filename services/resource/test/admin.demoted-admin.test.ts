/**
 * Review finding 1 (issue 9), resource side: after an admin is demoted, `/api/admin` in session mode refuses
 * the demoted admin's token at once (their sessions are gone); stateless mode keeps the documented
 * revocation window (the token is valid until `exp`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { http, redisEnv } from '@authstack/testing';
import { type AdminStack, patchUser, secondAdmin, startWithAdmin } from '../../auth/test/admin-support.ts';
import { startTestResource, type TestResource } from './support.ts';

describe('finding 1: /api/admin after a demotion, stateless versus session mode', () => {
  let stack: AdminStack;
  let stateless: TestResource;
  let session: TestResource;

  before(async () => {
    stack = await startWithAdmin();
    const { auth } = stack;
    const common = {
      JWT_ISSUER: auth.config.issuer,
      JWT_AUDIENCE: auth.config.audience,
      JWKS_URI: `${auth.url}/.well-known/jwks.json`,
      ...redisEnv(),
      REDIS_KEY_PREFIX: auth.config.redisKeyPrefix,
    };
    stateless = await startTestResource(common);
    session = await startTestResource({ ...common, VERIFY_MODE: 'session' });
  });
  after(async () => {
    await Promise.all([stateless.stop(), session.stop()]);
    await stack.stop();
  });

  it('when an admin is demoted, then session mode answers 401 at once and stateless mode 200 until exp', async () => {
    const { auth, admin } = stack;
    const b = await secondAdmin(auth.url, admin);
    for (const resource of [stateless, session]) {
      assert.equal((await http(`${resource.url}/api/admin`, { token: b.access_token })).status, 200);
    }

    assert.equal((await patchUser(auth.url, admin.access_token, b.user.id, { roles: ['user'] })).status, 200);

    const refused = await http(`${session.url}/api/admin`, { token: b.access_token });
    assert.equal(refused.status, 401);
    assert.equal(refused.body.code, 'session_revoked');
    assert.match(refused.headers.get('www-authenticate') ?? '', /error="invalid_token"/);

    const window = await http(`${stateless.url}/api/admin`, { token: b.access_token });
    assert.equal(window.status, 200, 'the documented revocation window: valid until exp');
  });

  it('when an admin is disabled, then session mode answers 401 at once', async () => {
    const { auth, admin } = stack;
    const b = await secondAdmin(auth.url, admin);
    assert.equal((await patchUser(auth.url, admin.access_token, b.user.id, { disabled: true })).status, 200);
    const refused = await http(`${session.url}/api/admin`, { token: b.access_token });
    assert.equal(refused.status, 401);
    assert.equal(refused.body.code, 'session_revoked');
  });
});
