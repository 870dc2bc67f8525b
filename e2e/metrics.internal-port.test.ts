/**
 * `INTERNAL_PORT`: `/metrics` (and auth's JWKS) on a port of their own, so a network policy can open it to monitoring
 * and to the verifiers inside the cluster while only the gateway reaches the API port (the only port where a trusted
 * peer may set the client address).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig as loadAuthConfig } from '@authstack/auth/config';
import { registerAndLogin, startAuthFixture } from '@authstack/auth/testing';
import { loadConfig as loadResourceConfig } from '@authstack/resource/config';
import { startTestResource } from '@authstack/resource/testing';
import { freePort, http, useFixture } from '@authstack/testing';

const text = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
};

describe('when INTERNAL_PORT is set', () => {
  const stack = useFixture(async (scope) => {
    const auth = await startAuthFixture(scope, { env: { INTERNAL_PORT: String(await freePort()) } });
    const resource = await startTestResource(
      {
        JWT_ISSUER: auth.config.issuer,
        JWT_AUDIENCE: auth.config.audience,
        // The JWKS from auth's internal port: the resource never needs auth's API port.
        JWKS_URI: `${auth.internalUrl}/.well-known/jwks.json`,
        INTERNAL_PORT: String(await freePort()),
      },
      {},
      scope,
    );
    return { auth, resource };
  });

  it('when /metrics is asked on the API ports, then it is 404; on the internal ports it is served', async () => {
    for (const [service, running] of [
      ['auth', stack.auth],
      ['resource', stack.resource],
    ] as const) {
      assert.ok(running.internalUrl, `${service} listens on its internal port`);
      assert.equal((await http(`${running.url}/metrics`)).status, 404, `${service} API port`);
      const metrics = await text(`${running.internalUrl}/metrics`);
      assert.equal(metrics.status, 200, `${service} internal port`);
      assert.match(metrics.body, /^# HELP /m);
      assert.equal(
        (await http(`${running.url}/healthz`)).status,
        200,
        `${service} probes stay on the API port`,
      );
    }
  });

  it('when a verifier reads the JWKS from auth internal port, then tokens verify; the API is not served there', async () => {
    const jwks = await http<{ keys: unknown[] }>(`${stack.auth.internalUrl}/.well-known/jwks.json`);
    assert.equal(jwks.status, 200);
    assert.ok(jwks.body.keys.length > 0);
    const user = await registerAndLogin(stack.auth.url);
    const res = await http(`${stack.resource.url}/api/protected`, { token: user.access_token });
    assert.equal(res.status, 200);
    for (const path of ['/auth/login', '/auth/register']) {
      const internal = await http(`${stack.auth.internalUrl}${path}`, {
        body: { username: user.username, password: user.password },
      });
      assert.equal(internal.status, 404, `${path} is not on the internal port`);
    }
  });
});

describe('when INTERNAL_PORT is not set', () => {
  it('then no internal port is opened and /metrics stays on the API port', async () => {
    const resource = await startTestResource({ JWKS_URI: 'http://127.0.0.1:1/.well-known/jwks.json' });
    try {
      assert.equal(resource.internalUrl, undefined);
      assert.equal((await text(`${resource.url}/metrics`)).status, 200);
    } finally {
      await resource.stop();
    }
  });

  it('when INTERNAL_PORT equals PORT, then start-up stops naming INTERNAL_PORT', () => {
    for (const load of [loadAuthConfig, loadResourceConfig]) {
      assert.throws(
        () =>
          load({
            PORT: '3005',
            INTERNAL_PORT: '3005',
            KEY_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
            PASSWORD_PEPPER: Buffer.alloc(32, 2).toString('base64'),
          }),
        (error: unknown) => error instanceof ConfigError && error.variable === 'INTERNAL_PORT',
      );
    }
  });
});
