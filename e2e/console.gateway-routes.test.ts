/**
 * The gateway's routes for the console, with the real nginx over HTTPS: the page and its files under the console's
 * CSP, GET only; /api-session/ reaching the session-mode resource; /metrics of neither resource reachable.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { before, describe, it } from 'node:test';
import { startTestResource, type TestResource } from '@authstack/resource/testing';
import { redisEnv, suiteScope, useRedisPrefix } from '@authstack/testing';
import { AUDIENCE, ISSUER, type JwksServer, jwksServer, testKey } from '@authstack/testing/tokens';
import type { Gateway, makeCerts } from '../infra/nginx/local-gateway.ts';
import { hostPort, startTestGateway, testCerts } from './support.ts';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

describe('the gateway serves the console and routes /api-session/', () => {
  const scope = suiteScope();
  let jwks: JwksServer;
  let stateless: TestResource;
  let session: TestResource;
  let certs: ReturnType<typeof makeCerts>;
  let gateway: Gateway;

  before(async () => {
    jwks = await jwksServer([testKey('RS256').jwk], { scope });
    const env = {
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      JWKS_URI: jwks.jwksUri,
      ...redisEnv(),
      REDIS_KEY_PREFIX: useRedisPrefix(scope),
    };
    stateless = await startTestResource(env, {}, scope);
    session = await startTestResource({ ...env, VERIFY_MODE: 'session' }, {}, scope);
    certs = testCerts(scope);
    gateway = await startTestGateway(scope, {
      authUpstream: '127.0.0.1:9', // not used here
      resourceUpstream: hostPort(stateless.url),
      resourceSessionUpstream: hostPort(session.url),
      certs,
    });
  });

  function fetchTls(path: string, method = 'GET'): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: 'localhost', port: gateway.httpsPort, path, method, ca: readFileSync(certs.ca) },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  it('when the console is requested, then its page and modules are served under the console CSP', async () => {
    const page = await fetchTls('/console/');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.body, /<script type="module" src="js\/main.js"><\/script>/);
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /style-src 'self'(;|$)/);
    assert.match(csp, /connect-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(String(page.headers['strict-transport-security']), /max-age=31536000/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    const script = await fetchTls('/console/js/main.js');
    assert.equal(script.status, 200);
    assert.match(String(script.headers['content-type']), /^text\/javascript/);
    assert.equal(script.headers['content-security-policy'], csp);
  });

  it('when /console is asked without the slash, then it redirects; other methods and missing files are refused', async () => {
    const bare = await fetchTls('/console');
    assert.equal(bare.status, 301);
    assert.match(String(bare.headers.location), /\/console\/$/);
    assert.equal((await fetchTls('/console/', 'POST')).status, 403);
    const missing = await fetchTls('/console/nothing.js');
    assert.equal(missing.status, 404);
    assert.equal(JSON.parse(missing.body).code, 'not_found');
    assert.equal((await fetchTls('/console/../../etc/passwd')).status, 400);
  });

  it('when /api-session/ and /api/ are called, then each reaches its own resource instance', async () => {
    assert.equal(JSON.parse((await fetchTls('/api-session/stats')).body).mode, 'session');
    assert.equal(JSON.parse((await fetchTls('/api/stats')).body).mode, 'stateless');
    const refused = await fetchTls('/api-session/protected');
    assert.equal(refused.status, 401);
    assert.equal(JSON.parse(refused.body).code, 'token_missing');
  });

  it("when a resource's /metrics is asked for through either path, then it is not found", async () => {
    for (const path of ['/metrics', '/api/metrics', '/api-session/metrics', '/api-session/../metrics']) {
      const reply = await fetchTls(path);
      assert.equal(reply.status, 404, path);
      assert.doesNotMatch(reply.body, /resource_token_verifications_total/, path);
    }
  });
});
