import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { registerAndLogin, startAuthFixture, useAuth } from '@authstack/auth/testing';
import { startTestResource, useResource } from '@authstack/resource/testing';
import { eventually, http, testScope } from '@authstack/testing';
import { decodePart, mint, testKey } from '@authstack/testing/tokens';
import { verifierEnv } from './support.ts';

const ADMIN = { username: 'boss', password: 'admin passphrase for tests' };

describe('resource verifying tokens issued by the real auth service', () => {
  const auth = useAuth({
    env: {
      BOOTSTRAP_ADMIN_USERNAME: ADMIN.username,
      BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
      JWKS_MAX_AGE: '1',
      KEY_ACTIVATION_DELAY: '2',
    },
  });
  const resource = useResource(() => verifierEnv(auth, { JWKS_COOLDOWN: '1' }));

  it('a user reaches /api/protected and is refused /api/admin; the admin reaches both', async () => {
    const user = await registerAndLogin(auth.url);
    const protectedRes = await http(`${resource.url}/api/protected`, { token: user.access_token });
    assert.equal(protectedRes.status, 200);
    assert.equal(protectedRes.body.message, `You are viewing protected content, ${user.username}!`);
    assert.deepEqual(protectedRes.body.roles, ['user']);
    const forbidden = await http(`${resource.url}/api/admin`, { token: user.access_token });
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body.code, 'insufficient_scope');

    const admin = await http<{ access_token: string }>(`${auth.url}/auth/login`, { body: ADMIN });
    const panel = await http(`${resource.url}/api/admin`, { token: admin.body.access_token });
    assert.equal(panel.status, 200);
    assert.equal(panel.body.message, `Welcome to the admin panel, ${ADMIN.username}!`);
  });

  it('when a key is staged and activated while requests run, then no request fails', async () => {
    const user = await registerAndLogin(auth.url);
    const oldKid = decodePart(user.access_token, 0).kid;
    const kids = new Set<unknown>();
    const failures: string[] = [];
    let rotated = false;
    const deadline = Date.now() + 5_000;
    let requests = 0;
    while (Date.now() < deadline) {
      if (!rotated && requests === 10) {
        await auth.service.keyring.rotate();
        rotated = true;
      }
      const login = await http<{ access_token: string }>(`${auth.url}/auth/login`, {
        body: { username: user.username, password: user.password },
      });
      const token = login.body.access_token;
      kids.add(decodePart(token, 0).kid);
      const res = await http(`${resource.url}/api/protected`, { token });
      requests += 1;
      if (res.status !== 200) failures.push(`${res.status} ${String(res.body.code)}`);
    }
    assert.deepEqual(failures, []);
    assert.ok(
      kids.size >= 2,
      `the new key signed during the loop (kids seen: ${kids.size}, old ${String(oldKid)})`,
    );
    assert.ok(requests > 20, `requests: ${requests}`);
  });

  it('when auth becomes unreachable after the first fetch, then resource keeps verifying and stays ready', async (t) => {
    const auth2 = await startAuthFixture(testScope(t));
    const resource2 = await startTestResource(
      verifierEnv(auth2, { JWKS_COOLDOWN: '1', JWKS_REFRESH_INTERVAL: '1' }),
      {},
      testScope(t),
    );
    const user = await registerAndLogin(auth2.url);
    await auth2.stop();
    // Wait for a background refresh (every second) to fail against the stopped auth.
    await eventually(() =>
      assert.ok(resource2.service.keys.lastError, 'a refresh failed while auth was down'),
    );
    assert.equal(resource2.service.keys.ready(), true);
    const res = await http(`${resource2.url}/api/protected`, { token: user.access_token });
    assert.equal(res.status, 200);
    assert.equal((await http(`${resource2.url}/readyz`)).status, 200);
  });

  it('when no key set was ever fetched, then resource is not ready and protected routes answer 503', async (t) => {
    const dead = await startTestResource(
      { JWKS_URI: 'http://127.0.0.1:9/jwks.json', JWKS_COOLDOWN: '1' },
      {},
      testScope(t),
    );
    assert.equal((await http(`${dead.url}/readyz`)).status, 503);
    assert.equal((await http(`${dead.url}/healthz`)).status, 200);
    const res = await http(`${dead.url}/api/protected`, { token: mint(testKey()) });
    assert.equal(res.status, 503);
    assert.equal(res.body.code, 'keys_unavailable');
    assert.equal((await http(`${dead.url}/api/public`)).status, 200);
  });

  it('metrics count verifications by result and are served at /metrics', async () => {
    const res = await fetch(`${resource.url}/metrics`);
    const text = await res.text();
    assert.match(text, /resource_token_verifications_total\{result="valid",service="resource"\} \d+/);
    assert.match(text, /resource_jwks_fetches_total\{outcome="ok",service="resource"\} \d+/);
    assert.match(text, /http_request_duration_seconds_bucket/);
  });
});
