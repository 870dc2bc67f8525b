/**
 * Cookie sessions through the real gateway (nginx, TLS, auth_request): the original tutorial's first client, the
 * access token the cookie exchange gives the resource instead of the cookie, CSRF, and no session fixation. The
 * gateway keeps an exchange's answer for its window (GATEWAY_COOKIE_EXCHANGE_CACHE): e2e/cookie-session.window.test.ts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type AuthFixture, STRONG_PASSWORD, username } from '@authstack/auth/testing';
import { ApiError, AuthClient } from '@authstack/client';
import type { TestResource } from '@authstack/resource/testing';
import { suiteScope, testScope } from '@authstack/testing';
import { decodePart } from '@authstack/testing/tokens';
import { Agent, fetch } from 'undici';
import { freePort, type Gateway, type makeCerts } from '../infra/nginx/local-gateway.ts';
import { hostPort, resourceEnv, startGatewayPair, startTestGateway } from './support.ts';

const COOKIE = '__Host-session';
const ADMIN = { username: 'doorkeeper', password: 'opens every door here 5' };
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const run = promisify(execFile);
type Body = Record<string, unknown>;

/**
 * What Python `requests.Session` does with cookies, no more: keep every Set-Cookie's name and value (a
 * Max-Age of 0 deletes it), send them all back in one Cookie header. No attribute is checked here; the tests do.
 */
class SimpleJar {
  readonly cookies = new Map<string, string>();
  store(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      if (attributes.some((a) => /^\s*max-age=0\s*$/i.test(a))) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(at + 1).trim());
    }
  }
  header(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

describe('cookie sessions through the gateway', () => {
  const scope = suiteScope();
  let auth: AuthFixture;
  let resource: TestResource;
  let certs: ReturnType<typeof makeCerts>;
  let gateway: Gateway;
  let echoGateway: Gateway;
  let echo: Server;
  let echoed: IncomingHttpHeaders[] = [];
  let dispatcher: Agent;

  before(async () => {
    ({ auth, resource, certs, gateway } = await startGatewayPair(scope, {
      env: { BOOTSTRAP_ADMIN_USERNAME: ADMIN.username, BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password },
      resourceEnv,
    }));
    // A stand-in resource that answers with the headers it received.
    echo = createServer((req, res) => {
      echoed.push(req.headers);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ headers: req.headers }));
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    scope.defer(() => new Promise((resolve) => echo.close(resolve)));
    dispatcher = new Agent({ connect: { ca: readFileSync(certs.ca) } });
    scope.defer(() => dispatcher.close());
    echoGateway = await startTestGateway(scope, {
      authUpstream: hostPort(auth.url),
      resourceUpstream: `127.0.0.1:${(echo.address() as AddressInfo).port}`,
      certs,
    });
  });

  /** One request; with a jar, its cookies go along and its Set-Cookies are kept. */
  async function send(
    method: string,
    url: string,
    init: { jar?: SimpleJar; body?: Body; headers?: Record<string, string> } = {},
  ) {
    const headers: Record<string, string> = { ...init.headers };
    const cookie = init.jar?.header();
    if (cookie && !headers.cookie) headers.cookie = cookie;
    if (init.body) headers['content-type'] = 'application/json';
    const res = await fetch(url, {
      method,
      headers,
      dispatcher,
      redirect: 'manual',
      ...(init.body ? { body: JSON.stringify(init.body) } : {}),
    });
    const setCookies = res.headers.getSetCookie();
    init.jar?.store(setCookies);
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      setCookies,
      body: (text ? JSON.parse(text) : {}) as Body,
    };
  }

  /**
   * Sends `request` until its answer is not a 200, for at most the gateway's cookie exchange window (1 s) and a margin:
   * what the gateway already exchanged for a cookie serves it until the window ends.
   */
  async function untilRefused<T extends { status: number }>(
    request: () => Promise<T>,
    status = 200,
  ): Promise<T> {
    const deadline = Date.now() + 1500;
    for (;;) {
      const res = await request();
      if (res.status !== status || Date.now() > deadline) return res;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async function newUser(base = gateway.httpsUrl) {
    const name = username('cookie');
    const registered = await send('POST', `${base}/register`, {
      body: { username: name, password: STRONG_PASSWORD },
    });
    assert.equal(registered.status, 201);
    return name;
  }

  async function cookieLogin(name: string, base = gateway.httpsUrl, jar = new SimpleJar()) {
    const login = await send('POST', `${base}/login`, {
      jar,
      body: { username: name, password: STRONG_PASSWORD },
    });
    assert.equal(login.status, 200);
    return { jar, login, value: jar.cookies.get(COOKIE)! };
  }

  it("when the tutorial's first client logs in on /login and keeps its cookies, then /protected answers 200 by the cookie alone, /logout 200, and the old cookie 401", async () => {
    const name = await newUser();
    const jar = new SimpleJar();

    const login = await send('POST', `${gateway.httpsUrl}/login`, {
      jar,
      body: { username: name, password: STRONG_PASSWORD },
    });
    assert.equal(login.status, 200);
    assert.equal(login.body.message, `Welcome ${name}!`);
    assert.deepEqual(
      Object.keys(login.body).sort(),
      ['message', 'status', 'user'],
      'the account only, no token',
    );
    assert.equal(login.setCookies.length, 1);
    const [pair, ...attributes] = login.setCookies[0]!.split(';').map((part) => part.trim());
    assert.match(pair!, /^__Host-session=[A-Za-z0-9_-]{87}$/);
    const lower = attributes.map((a) => a.toLowerCase());
    for (const attribute of ['httponly', 'secure', 'samesite=strict', 'path=/'])
      assert.ok(lower.includes(attribute), `${attribute} in ${login.setCookies[0]}`);
    assert.ok(!lower.some((a) => a.startsWith('domain=')), '__Host- cookies carry no Domain');
    const oldCookie = `${COOKIE}=${jar.cookies.get(COOKIE)}`;

    const protectedPage = await send('GET', `${gateway.httpsUrl}/protected`, { jar });
    assert.equal(protectedPage.status, 200);
    assert.equal(protectedPage.body.message, `You are viewing protected content, ${name}!`);

    const logout = await send('POST', `${gateway.httpsUrl}/logout`, { jar });
    assert.equal(logout.status, 200);
    assert.equal(jar.cookies.size, 0, 'the logout cleared the cookie');

    // The gateway may still hold the exchange's answer for the rest of its window (GATEWAY_COOKIE_EXCHANGE_CACHE,
    // 1 s; e2e/cookie-session.window.test.ts measures it): the old cookie is refused once the window ends.
    const replayed = await untilRefused(() =>
      send('GET', `${gateway.httpsUrl}/protected`, { headers: { cookie: oldCookie } }),
    );
    assert.equal(replayed.status, 401);
    assert.equal(replayed.body.code, 'invalid_session');
    const withJar = await send('GET', `${gateway.httpsUrl}/protected`, { jar });
    assert.equal(withJar.status, 401);
    assert.equal(withJar.body.code, 'token_missing');
  });

  it('when a request is authenticated by the cookie, then the resource receives a Bearer token of that session and no Cookie header', async () => {
    const name = await newUser(echoGateway.httpsUrl);
    const { jar, login } = await cookieLogin(name, echoGateway.httpsUrl);
    echoed = [];
    const res = await send('GET', `${echoGateway.httpsUrl}/api/anything`, {
      jar,
      headers: { cookie: `${jar.header()}; theme=dark` },
    });
    assert.equal(res.status, 200);
    assert.equal(echoed.length, 1);
    const received = echoed[0]!;
    assert.equal(received.cookie, undefined, 'no cookie reached the resource');
    assert.match(String(received.authorization), /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    const claims = decodePart(String(received.authorization).slice(7), 1);
    const me = await send('GET', `${echoGateway.httpsUrl}/auth/me`, { jar });
    assert.equal(claims.sub, (login.body.user as Body).id);
    assert.equal(claims.sid, me.body.session_id, 'the token names the cookie session');
    assert.equal(claims.username, name);

    // The real resource verifies it like any other access token.
    const whoami = await send('GET', `${gateway.httpsUrl}/api/whoami`, {
      jar: (await cookieLogin(name)).jar,
    });
    assert.equal(whoami.status, 200);
    assert.equal((whoami.body.claims as Body).username, name);
  });

  it('when a request carries both a Bearer token and a cookie, then the Bearer token is used and the exchange is skipped', async () => {
    const cookieUser = await newUser(echoGateway.httpsUrl);
    const bearerUser = await newUser(echoGateway.httpsUrl);
    const { jar } = await cookieLogin(cookieUser, echoGateway.httpsUrl);
    const bearer = await send('POST', `${echoGateway.httpsUrl}/auth/login`, {
      body: { username: bearerUser, password: STRONG_PASSWORD },
    });
    const token = String(bearer.body.access_token);
    echoed = [];
    const res = await send('GET', `${echoGateway.httpsUrl}/api/anything`, {
      jar,
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    assert.equal(echoed[0]!.authorization, `Bearer ${token}`);
    assert.equal(echoed[0]!.cookie, undefined);
  });

  it('when a state-changing request with the cookie comes from another site, then it is refused with 403 cross_site_request and the session lives on', async () => {
    const name = await newUser();
    const { jar } = await cookieLogin(name);
    const forged: Record<string, string>[] = [
      { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      { origin: 'https://evil.example' },
      { 'sec-fetch-site': 'same-site' },
      { origin: 'null' },
    ];
    for (const headers of forged) {
      const logout = await send('POST', `${gateway.httpsUrl}/logout`, { jar, headers });
      assert.equal(logout.status, 403, JSON.stringify(headers));
      assert.equal(logout.body.code, 'cross_site_request');
      const post = await send('POST', `${gateway.httpsUrl}/api/protected`, { jar, headers });
      assert.equal(post.status, 403, JSON.stringify(headers));
      assert.equal(post.body.code, 'cross_site_request');
    }
    assert.equal(jar.cookies.size, 1, 'no refusal cleared the cookie');
    // A cross-site GET is not state-changing (SameSite=Strict keeps browsers from sending the cookie anyway).
    assert.equal(
      (await send('GET', `${gateway.httpsUrl}/protected`, { jar, headers: forged[0] })).status,
      200,
      'the session is still alive',
    );
    // The page's own origin is allowed, and so is a client that sends neither header.
    const own = { origin: gateway.httpsUrl, 'sec-fetch-site': 'same-origin' };
    assert.equal((await send('GET', `${gateway.httpsUrl}/auth/me`, { jar, headers: own })).status, 200);
    const ownPost = await send('POST', `${gateway.httpsUrl}/api/protected`, { jar, headers: own });
    assert.equal(ownPost.status, 404, 'past the exchange: the resource has no POST route');
    assert.equal(ownPost.body.code, 'not_found');
    const out = await send('POST', `${gateway.httpsUrl}/logout`, { jar, headers: own });
    assert.equal(out.status, 200);
    const again = await cookieLogin(name);
    assert.equal((await send('POST', `${gateway.httpsUrl}/logout`, { jar: again.jar })).status, 200);
  });

  it('when a client sends a session cookie to /login, then the session after login has a new value and the one sent before is refused', async () => {
    const name = await newUser();
    // A value an attacker planted (well-formed, names no session) and one from an earlier login.
    const first = await cookieLogin(name);
    const swap = first.value[60] === 'A' ? 'B' : 'A';
    const planted = `${first.value.slice(0, 60)}${swap}${first.value.slice(61)}`; // same session, other secret
    for (const before of [first.value, planted]) {
      const jar = new SimpleJar();
      jar.cookies.set(COOKIE, before);
      const { value } = await cookieLogin(name, gateway.httpsUrl, jar);
      assert.notEqual(value, before);
      assert.equal((await send('GET', `${gateway.httpsUrl}/protected`, { jar })).status, 200);
      const old = await send('GET', `${gateway.httpsUrl}/protected`, {
        headers: { cookie: `${COOKIE}=${before}` },
      });
      assert.equal(old.status, 401);
      assert.equal(old.body.code, 'invalid_session');
    }
  });

  it('when auth cannot be reached for the exchange, then a cookie request gets 503 service_unavailable and a Bearer request still reaches the resource', async (t) => {
    const name = await newUser();
    const { jar } = await cookieLogin(name);
    const token = String(
      (
        await send('POST', `${gateway.httpsUrl}/auth/login`, {
          body: { username: name, password: STRONG_PASSWORD },
        })
      ).body.access_token,
    );
    const closed = await freePort();
    const authless = await startTestGateway(testScope(t), {
      authUpstream: `127.0.0.1:${closed}`,
      resourceUpstream: hostPort(resource.url),
      certs,
    });
    const res = await send('GET', `${authless.httpsUrl}/protected`, { jar });
    assert.equal(res.status, 503);
    assert.equal(res.body.code, 'service_unavailable');
    const bearer = await send('GET', `${authless.httpsUrl}/protected`, {
      jar,
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(bearer.status, 200, 'bearer requests never ask auth');
  });

  it('when an admin grants a role, then /admin answers the cookie session at its next request, which also rotates the cookie', async () => {
    const name = await newUser();
    const { jar, login } = await cookieLogin(name);
    const before = jar.cookies.get(COOKIE)!;
    const refused = await send('GET', `${gateway.httpsUrl}/admin`, { jar });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 'insufficient_scope');
    assert.deepEqual(refused.setCookies, []);
    const admin = await send('POST', `${gateway.httpsUrl}/auth/login`, { body: ADMIN });
    const grant = await send(
      'PATCH',
      `${gateway.httpsUrl}/auth/admin/users/${(login.body.user as Body).id}`,
      {
        headers: { authorization: `Bearer ${String(admin.body.access_token)}` },
        body: { roles: ['user', 'admin'] },
      },
    );
    assert.equal(grant.status, 200);

    // The answer the gateway kept for the cookie (the old roles) serves until its window ends (1 s).
    const panel = await untilRefused(() => send('GET', `${gateway.httpsUrl}/admin`, { jar }), 403);
    assert.equal(panel.status, 200);
    assert.equal(panel.body.message, `Welcome to the admin panel, ${name}!`);
    assert.equal(panel.setCookies.length, 1);
    assert.match(
      panel.setCookies[0]!,
      /^__Host-session=[A-Za-z0-9_-]{87}; Path=\/; Secure; HttpOnly; SameSite=Strict; Max-Age=\d+$/,
    );
    assert.notEqual(jar.cookies.get(COOKIE), before, 'the jar took the new value');
    assert.match(panel.headers.get('strict-transport-security') ?? '', /max-age=/, 'security headers kept');
    const again = await send('GET', `${gateway.httpsUrl}/admin`, { jar });
    assert.equal(again.status, 200);
    assert.deepEqual(again.setCookies, [], 'rotated once');
  });

  it('when the SDK runs in cookie mode, then it keeps only the cookie, reaches the resource and auth with it, and logout ends it', async () => {
    const name = await newUser();
    const sdk = new AuthClient({ baseUrl: gateway.httpsUrl, ca: readFileSync(certs.ca), mode: 'cookie' });
    await sdk.login(name, STRONG_PASSWORD);
    assert.equal(sdk.tokens, undefined, 'no token is kept');
    assert.match(sdk.cookies[COOKIE] ?? '', /^[A-Za-z0-9_-]{87}$/);
    const page = await sdk.request<{ username: string }>('GET', '/api/protected');
    assert.equal(page.username, name);
    const sessions = await sdk.sessions();
    assert.deepEqual(
      sessions.filter((s) => s.current).map((s) => s.cookie),
      [true],
    );
    await sdk.logout();
    assert.deepEqual(sdk.cookies, {});
    await assert.rejects(sdk.request('GET', '/api/protected'), (error: unknown) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.status, 401);
      return true;
    });
  });

  it('when the CLI runs with --session cookie and a token file, then the file keeps the cookie (mode 0600, no token) and the next command uses it', async () => {
    const name = await newUser();
    const dir = mkdtempSync(join(tmpdir(), 'authstack-cli-'));
    const file = join(dir, 'session.json');
    const cli = (...args: string[]) =>
      run(
        process.execPath,
        [
          'services/client/src/cli.ts',
          '--base-url',
          gateway.httpsUrl,
          '--ca',
          certs.ca,
          '--session',
          'cookie',
          '--token-file',
          file,
          ...args,
        ],
        { cwd: ROOT, env: { PATH: process.env.PATH, AUTHSTACK_PASSWORD: STRONG_PASSWORD } },
      );
    try {
      await cli('login', name);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      assert.deepEqual(Object.keys(saved), ['cookies']);
      assert.match(String((saved.cookies as Record<string, string>)[COOKIE]), /^[A-Za-z0-9_-]{87}$/);
      assert.doesNotMatch(readFileSync(file, 'utf8'), /eyJ/, 'no token in the file');
      const page = JSON.parse((await cli('protected')).stdout) as Body;
      assert.equal(page.username, name);
      await cli('logout');
      assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { cookies: {} });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
