import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRedisProxy, http, redisEnv, type TestDatabase } from '@authstack/testing';
import {
  migratedDatabase,
  registerAndLogin,
  startTestAuth,
  type TestAuth,
  testEnv,
} from '../../auth/test/support.ts';
import { startTestResource, type TestResource } from './support.ts';

describe('revocation: stateless versus session mode', () => {
  let db: TestDatabase;
  let auth: TestAuth;
  let stateless: TestResource;
  let session: TestResource;

  before(async () => {
    db = await migratedDatabase();
    auth = await startTestAuth(testEnv(db));
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
    await auth.stop();
    await db.drop();
  });

  it('after logout, session mode refuses the access token at once; stateless mode accepts it until exp', async () => {
    const user = await registerAndLogin(auth.url);
    for (const resource of [stateless, session]) {
      assert.equal((await http(`${resource.url}/api/protected`, { token: user.access_token })).status, 200);
    }
    assert.equal(
      (await http(`${auth.url}/auth/logout`, { method: 'POST', token: user.access_token })).status,
      200,
    );

    const revoked = await http(`${session.url}/api/protected`, { token: user.access_token });
    assert.equal(revoked.status, 401);
    assert.equal(revoked.body.code, 'session_revoked');
    assert.match(revoked.headers.get('www-authenticate') ?? '', /error="invalid_token"/);

    const window = await http(`${stateless.url}/api/protected`, { token: user.access_token });
    assert.equal(window.status, 200, 'the revocation window: valid until exp');
  });

  it('in session mode with Redis unreachable, protected routes answer 503 and readiness fails', async () => {
    const proxy = await createRedisProxy();
    const viaProxy = await startTestResource({
      JWT_ISSUER: auth.config.issuer,
      JWT_AUDIENCE: auth.config.audience,
      JWKS_URI: `${auth.url}/.well-known/jwks.json`,
      ...proxy.env,
      REDIS_KEY_PREFIX: auth.config.redisKeyPrefix,
      VERIFY_MODE: 'session',
    });
    try {
      const user = await registerAndLogin(auth.url);
      assert.equal((await http(`${viaProxy.url}/api/protected`, { token: user.access_token })).status, 200);
      await proxy.cut();
      const res = await http(`${viaProxy.url}/api/protected`, { token: user.access_token });
      assert.equal(res.status, 503);
      assert.equal(res.body.code, 'service_unavailable');
      assert.equal((await http(`${viaProxy.url}/readyz`)).status, 503);
      assert.equal(
        (await http(`${stateless.url}/api/protected`, { token: user.access_token })).status,
        200,
        'stateless mode is unaffected',
      );
      await proxy.restore();
    } finally {
      await viaProxy.stop();
      await proxy.close();
    }
  });
});
