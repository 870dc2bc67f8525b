import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { registerAndLogin } from '@authstack/auth/testing';
import { startTestResource } from '@authstack/resource/testing';
import { createRedisProxy, http, testScope } from '@authstack/testing';
import { resourceEnv, useStack } from './support.ts';

describe('revocation: stateless versus session mode', () => {
  const stack = useStack();

  it('after logout, session mode refuses the access token at once; stateless mode accepts it until exp', async () => {
    const user = await registerAndLogin(stack.auth.url);
    for (const resource of [stack.stateless, stack.session]) {
      assert.equal((await http(`${resource.url}/api/protected`, { token: user.access_token })).status, 200);
    }
    assert.equal(
      (await http(`${stack.auth.url}/auth/logout`, { method: 'POST', token: user.access_token })).status,
      200,
    );

    const revoked = await http(`${stack.session.url}/api/protected`, { token: user.access_token });
    assert.equal(revoked.status, 401);
    assert.equal(revoked.body.code, 'session_revoked');
    assert.match(revoked.headers.get('www-authenticate') ?? '', /error="invalid_token"/);

    const window = await http(`${stack.stateless.url}/api/protected`, { token: user.access_token });
    assert.equal(window.status, 200, 'the revocation window: valid until exp');
  });

  it('in session mode with Redis unreachable, protected routes answer 503 and readiness fails', async (t) => {
    const scope = testScope(t);
    const proxy = await createRedisProxy();
    scope.defer(() => proxy.close());
    const viaProxy = await startTestResource(
      resourceEnv(stack.auth, { ...proxy.env, VERIFY_MODE: 'session' }),
      {},
      scope,
    );
    const user = await registerAndLogin(stack.auth.url);
    assert.equal((await http(`${viaProxy.url}/api/protected`, { token: user.access_token })).status, 200);
    await proxy.cut();
    const res = await http(`${viaProxy.url}/api/protected`, { token: user.access_token });
    assert.equal(res.status, 503);
    assert.equal(res.body.code, 'service_unavailable');
    assert.equal((await http(`${viaProxy.url}/readyz`)).status, 503);
    const metrics = await (await fetch(`${viaProxy.url}/metrics`)).text();
    assert.match(
      metrics,
      /^dependency_ready\{dependency="redis",service="resource"\} 0$/m,
      'what the alert reads',
    );
    assert.match(metrics, /^dependency_ready\{dependency="jwks",service="resource"\} 1$/m);
    assert.equal(
      (await http(`${stack.stateless.url}/api/protected`, { token: user.access_token })).status,
      200,
      'stateless mode is unaffected',
    );
    await proxy.restore();
  });
});
