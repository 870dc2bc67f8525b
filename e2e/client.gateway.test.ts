import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { before, describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type AuthFixture, STRONG_PASSWORD, username } from '@authstack/auth/testing';
import { AuthClient } from '@authstack/client';
import type { TestResource } from '@authstack/resource/testing';
import { suiteScope, testScope } from '@authstack/testing';
import type { Gateway, makeCerts } from '../infra/nginx/local-gateway.ts';
import { type GatewaySettings, hostPort, startGatewayStack, startTestGateway } from './support.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const ADMIN = { username: 'gatekeeper', password: 'keys to the kingdom 42' };

describe('the native stack end to end: real nginx, TLS, the client scenarios', () => {
  const scope = suiteScope();
  let auth: AuthFixture;
  let stateless: TestResource;
  let sessionMode: TestResource;
  let certs: ReturnType<typeof makeCerts>;
  let gateway: Gateway;
  let sessionGateway: Gateway;
  let api: AuthClient;

  before(async () => {
    ({
      auth,
      stateless,
      session: sessionMode,
      certs,
      gateway,
    } = await startGatewayStack(scope, {
      env: {
        BOOTSTRAP_ADMIN_USERNAME: ADMIN.username,
        BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
        REGISTER_MAX_PER_IP_PER_HOUR: '1000',
      },
    }));
    sessionGateway = await startTestGateway(scope, {
      authUpstream: hostPort(auth.url),
      resourceUpstream: hostPort(sessionMode.url),
      certs,
    });
    api = new AuthClient({ baseUrl: gateway.httpsUrl, ca: readFileSync(certs.ca) });
  });

  /** One more gateway in front of the same auth and stateless resource, with tighter limits; stopped when `t` ends. */
  const tightGateway = (t: TestContext, limits: GatewaySettings) =>
    startTestGateway(testScope(t), {
      authUpstream: hostPort(auth.url),
      resourceUpstream: hostPort(stateless.url),
      certs,
      ...limits,
    });

  const scenarios = (base: string, extra: string[] = []) =>
    run(
      process.execPath,
      ['services/client/src/cli.ts', '--base-url', base, '--ca', certs.ca, 'scenarios', ...extra],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, ADMIN_USERNAME: ADMIN.username, ADMIN_PASSWORD: ADMIN.password },
      },
    ).catch((error: { stdout: string; code: number }) => ({ stdout: error.stdout, code: error.code }));

  it('the client scenarios pass over HTTPS with CA verification (stateless resource)', async () => {
    const result = await scenarios(gateway.httpsUrl);
    assert.match(result.stdout, /^22 passed, 0 failed$/m, result.stdout);
    assert.match(result.stdout, /revocation window of access tokens\s+200\s+200/);
  });

  it('the client scenarios pass against a session-mode resource, where logout is seen at once', async () => {
    const result = await scenarios(sessionGateway.httpsUrl, ['--session-mode']);
    assert.match(result.stdout, /^22 passed, 0 failed$/m, result.stdout);
    assert.match(result.stdout, /revocation window of access tokens\s+401 session_revoked/);
  });

  it('without the CA the client refuses the certificate: there is no insecure mode', async () => {
    const untrusting = new AuthClient({ baseUrl: gateway.httpsUrl });
    await assert.rejects(untrusting.call('GET', '/api/public'), {
      name: 'NetworkError',
      kind: 'untrusted_certificate',
    });
  });

  it('a spoofed X-Forwarded-For does not reset the login limit', async () => {
    const name = username('xff');
    assert.equal(
      (await api.call('POST', '/auth/register', { body: { username: name, password: STRONG_PASSWORD } }))
        .status,
      201,
    );
    for (let i = 0; i < 5; i++) {
      const res = await api.call('POST', '/auth/login', {
        body: { username: name, password: 'wrong password' },
        headers: { 'x-forwarded-for': `198.51.100.${i}` },
      });
      assert.equal(res.status, 401);
    }
    const spoofed = await api.call('POST', '/auth/login', {
      body: { username: name, password: STRONG_PASSWORD },
      headers: { 'x-forwarded-for': '203.0.113.99', 'x-real-ip': '203.0.113.99' },
    });
    assert.equal(spoofed.status, 429);
    assert.equal(spoofed.body.code, 'too_many_attempts');
  });

  it('plain HTTP: GET is redirected (301) to HTTPS; POST to an API path is refused, not forwarded', async () => {
    const get = await fetch(`${gateway.httpUrl}/api/protected?x=1`, { redirect: 'manual' });
    assert.equal(get.status, 301);
    // The configured public host (GATEWAY_PUBLIC_HOST), not the Host header (127.0.0.1 here).
    assert.equal(get.headers.get('location'), `https://localhost:${gateway.httpsPort}/api/protected?x=1`);
    const name = username('cleartext');
    const post = await fetch(`${gateway.httpUrl}/auth/register`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: name, password: STRONG_PASSWORD }),
    });
    assert.equal(post.status, 403);
    assert.equal(((await post.json()) as { code: string }).code, 'https_required');
    const registered = await api.call('POST', '/auth/register', {
      body: { username: name, password: STRONG_PASSWORD },
    });
    assert.equal(registered.status, 201, 'the cleartext request never reached auth');
  });

  it('HTTPS responses carry HSTS and the other security headers, no server version, and a request id', async () => {
    for (const path of ['/api/public', '/auth/login', '/nowhere']) {
      const res = await api.call('GET', path);
      const h = res.headers;
      assert.match(h.get('strict-transport-security') ?? '', /max-age=(\d+)/);
      assert.ok(Number(/max-age=(\d+)/.exec(h.get('strict-transport-security')!)![1]) >= 31_536_000);
      assert.equal(h.get('x-content-type-options'), 'nosniff');
      assert.match(h.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
      assert.equal(h.get('referrer-policy'), 'no-referrer');
      assert.equal(h.get('server'), 'nginx', path);
      assert.match(h.get('x-request-id') ?? '', /^[0-9a-f]{32}$/);
    }
    const problem = await api.call('POST', '/auth/login', {
      body: { username: 'nobody-here', password: 'x' },
    });
    assert.equal(
      problem.body.request_id,
      problem.headers.get('x-request-id'),
      'the gateway id reaches the service',
    );
  });

  it('a TLS 1.1 handshake is refused while TLS 1.2 and 1.3 succeed', () => {
    const handshake = (...flags: string[]) =>
      spawnSync(
        'openssl',
        ['s_client', '-connect', `127.0.0.1:${gateway.httpsPort}`, '-CAfile', certs.ca, ...flags],
        {
          input: '',
          encoding: 'utf8',
          timeout: 10_000,
        },
      );
    const old = handshake('-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0');
    assert.notEqual(old.status, 0, old.stdout);
    assert.match(
      `${old.stdout}${old.stderr}`,
      /alert protocol version|no protocols available|wrong version number/,
    );
    for (const [flag, protocol] of [
      ['-tls1_2', 'TLSv1.2'],
      ['-tls1_3', 'TLSv1.3'],
    ] as const) {
      const ok = handshake(flag);
      assert.equal(ok.status, 0, ok.stderr);
      // printed as soon as the handshake completes (the session block may come later, or never, for TLS 1.3)
      assert.match(ok.stdout, new RegExp(`New, ${protocol.replace('.', '\\.')}, Cipher is `));
      assert.match(ok.stdout, /Verify return code: 0 \(ok\)/);
    }
  });

  it("the services' /metrics, /healthz and /readyz are not reachable through the gateway", async () => {
    for (const path of [
      '/metrics',
      '/healthz',
      '/readyz',
      '/auth/metrics',
      '/api/metrics',
      '/api/../metrics',
    ]) {
      const res = await api.call('GET', path);
      assert.equal(res.status, 404, path);
      assert.doesNotMatch(JSON.stringify(res.body), /process_cpu|http_request_duration/);
    }
  });

  it('the OpenAPI documents of auth and resource are served through the gateway', async () => {
    for (const [path, title] of [
      ['/auth/openapi.json', 'authstack auth'],
      ['/api/openapi.json', 'authstack resource'],
    ] as const) {
      const res = await api.call<{ openapi: string; info: { title: string } }>('GET', path);
      assert.equal(res.status, 200, path);
      assert.equal(res.body.openapi, '3.1.0');
      assert.equal(res.body.info.title, title);
    }
  });

  it("the tutorial's alias paths reach the same handlers", async () => {
    const name = username('seed');
    assert.equal(
      (await api.call('POST', '/register', { body: { username: name, password: STRONG_PASSWORD } })).status,
      201,
    );
    // The tutorial's /login opens a cookie session (the account only in the body); its client keeps the cookie.
    const seed = new AuthClient({ baseUrl: gateway.httpsUrl, ca: readFileSync(certs.ca), mode: 'cookie' });
    const login = await seed.call<{ token?: string; message: string }>('POST', '/login', {
      body: { username: name, password: STRONG_PASSWORD },
    });
    assert.equal(login.status, 200);
    assert.equal(login.body.message, `Welcome ${name}!`);
    assert.equal(login.body.token, undefined);
    assert.equal((await seed.call('GET', '/protected')).status, 200);
    assert.equal((await seed.call('GET', '/admin')).status, 403);
    assert.equal((await seed.call('POST', '/logout')).status, 200);
    assert.equal((await seed.call('GET', '/protected')).status, 401);
  });

  it('oversized bodies are refused by the gateway with 413', async () => {
    const res = await api.call('POST', '/auth/login', {
      body: { username: 'x', password: 'y'.repeat(64 * 1024) },
    });
    assert.equal(res.status, 413);
    assert.equal(res.body.code, 'payload_too_large');
  });

  it('the outer limit_req on login answers 429 when a single IP floods it', async (t) => {
    const tight = await tightGateway(t, { loginRate: '1r/s', loginBurst: '2' });
    const client = new AuthClient({ baseUrl: tight.httpsUrl, ca: readFileSync(certs.ca) });
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        client.call('POST', '/auth/login', { body: { username: 'flood', password: 'x' } }),
      ),
    );
    const limited = results.filter((r) => r.status === 429 && r.body.code === 'too_many_requests');
    assert.ok(limited.length >= 5, `${limited.length} of 10 limited by nginx`);
  });

  it('when login or register is reached by a path variant (slash, case, encoding, dot segments, alias), then the gateway limits it or answers 404', async (t) => {
    const tight = await tightGateway(t, {
      loginRate: '1r/m',
      loginBurst: '1',
      registerRate: '1r/m',
      registerBurst: '1',
    });
    // node:https sends the path as written (fetch would resolve dot segments before nginx sees them).
    const post = (path: string) =>
      new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port: tight.httpsPort,
            path,
            method: 'POST',
            ca: readFileSync(certs.ca),
            headers: { 'content-type': 'application/json' },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              text += chunk;
            });
            res.on('end', () => {
              let body: Record<string, unknown> = {};
              try {
                body = JSON.parse(text) as Record<string, unknown>;
              } catch {}
              resolve({ status: res.statusCode ?? 0, body });
            });
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ username: username('variant'), password: 'x' }));
      });
    // Spend each zone's burst on the canonical path: from now on (for a minute) it answers 429.
    for (const path of ['/auth/login', '/auth/register']) {
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await post(path)).status);
      assert.deepEqual(
        statuses.map((status) => status === 429),
        [false, false, true],
        `${path}: ${statuses.join(' ')}`,
      );
    }
    const variants = (name: string, encoded: string) => [
      `/auth/${name}/`,
      `/auth/${name}//`,
      `/auth//${name}`,
      `/auth/${name.toUpperCase()}`,
      `/AUTH/${name.toUpperCase()}`,
      `/Auth/${name[0]!.toUpperCase()}${name.slice(1)}/`,
      `/auth/${encoded}`,
      `/auth/${encoded}/`,
      `/auth/${name}%2F`,
      `/auth/./${name}`,
      `/auth/x/../${name}`,
      `/.well-known/../auth/${name}`,
      `/api/..%2Fauth/${name}`,
      `/auth/${name}?next=/`,
      `/${name}`,
      `/${name}/`,
      `//${name}`,
      `/${name.toUpperCase()}`,
      `/${encoded}`,
      `/${encoded}/`,
    ];
    const unlimited: string[] = [];
    for (const path of [...variants('login', '%6Cogin'), ...variants('register', '%72egister')]) {
      const res = await post(path);
      const limited = res.status === 429 && res.body.code === 'too_many_requests';
      if (!limited && res.status !== 404) unlimited.push(`${path}: ${res.status} ${String(res.body.code)}`);
    }
    assert.deepEqual(unlimited, [], 'reached auth without the limit');
  });

  it('when a single IP floods registration, then the gateway answers 429 on /auth/register and its /register alias', async (t) => {
    const tight = await tightGateway(t, { registerRate: '1r/m', registerBurst: '2' });
    const client = new AuthClient({ baseUrl: tight.httpsUrl, ca: readFileSync(certs.ca) });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        client.call('POST', i % 2 ? '/register' : '/auth/register', {
          body: { username: username('flood'), password: STRONG_PASSWORD },
        }),
      ),
    );
    const limited = results.filter((r) => r.status === 429 && r.body.code === 'too_many_requests');
    const created = results.filter((r) => r.status === 201);
    assert.equal(limited.length, 5, results.map((r) => r.status).join(' '));
    assert.equal(created.length, 3, 'the first request and the burst of 2 reach auth');
    assert.ok(limited.every((r) => Number(r.headers.get('retry-after')) > 0));
  });

  it('SDK: concurrent refreshes share one request, so the session survives', async () => {
    const name = username('sdk');
    await api.call('POST', '/auth/register', { body: { username: name, password: STRONG_PASSWORD } });
    const sdk = new AuthClient({ baseUrl: gateway.httpsUrl, ca: readFileSync(certs.ca) });
    await sdk.login(name, STRONG_PASSWORD);
    const first = sdk.tokens!.refreshToken;
    const results = await Promise.all([sdk.refresh(), sdk.refresh(), sdk.refresh(), sdk.refresh()]);
    assert.equal(new Set(results.map((t) => t.refreshToken)).size, 1, 'one refresh, shared');
    assert.notEqual(results[0]!.refreshToken, first);
    assert.equal((await sdk.me()).username, name, 'the session survived: no reuse was detected');
    assert.equal((await sdk.sessions()).length, 1);
  });
});
