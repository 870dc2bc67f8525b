/**
 * Cookie sessions in the auth service: opening one at login, the gateway's cookie exchange (the minted token and
 * its cache), the CSRF rule, and the session rules every other session follows (logout, logout-all, password
 * change, disabling, the list, the cap, the absolute lifetime, rotation).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { http, type JsonResponse, suiteScope } from '@authstack/testing';
import { decodePart } from '@authstack/testing/tokens';
import { parseSessionCookie } from '../src/domain/tokens.ts';
import { startWithAdmin } from './admin-support.ts';
import { STRONG_PASSWORD, startTestAuth, type TestAuth, username } from './support.ts';

const ADMIN = { username: 'warden', password: 'holds every key here 7' };
const COOKIE = '__Host-session';
type Login = { access_token: string; refresh_token: string; user: { id: string } };
type CookieLogin = { message: string; user: { id: string; username: string } };
/** The session a cookie names (its value carries the ids: `domain/tokens.ts`). */
const sidOf = (cookie: string) => parseSessionCookie(cookie)!.sessionId;

const cookieOf = (res: JsonResponse<unknown>) => {
  const line = res.headers.getSetCookie().find((l) => l.startsWith(`${COOKIE}=`));
  return line?.slice(COOKIE.length + 1).split(';')[0];
};

describe('cookie sessions: login, the gateway exchange, CSRF and the session rules', () => {
  const scope = suiteScope();
  let auth: TestAuth;
  let uncached: TestAuth;
  /** Added to the real clock: moves auth's time forward for the lifetime tests. */
  let offset = 0;
  let admin: Login;

  before(async () => {
    ({ auth, admin } = await startWithAdmin(scope, {
      credentials: ADMIN,
      env: { SESSIONS_MAX_PER_USER: '3', REFRESH_IDLE_TTL: '3600', REFRESH_ABSOLUTE_TTL: '7200' },
      options: { now: () => Date.now() + offset },
    }));
    uncached = await startTestAuth({ ...auth.env, COOKIE_TOKEN_CACHE_TTL: '0' }, {}, scope);
  });

  async function newUser(base = auth.url) {
    const name = username('jar');
    assert.equal(
      (await http(`${base}/auth/register`, { body: { username: name, password: STRONG_PASSWORD } })).status,
      201,
    );
    return name;
  }
  async function cookieLogin(name: string, base = auth.url, headers: Record<string, string> = {}) {
    const res = await http<CookieLogin>(`${base}/auth/login?session=cookie`, {
      body: { username: name, password: STRONG_PASSWORD },
      headers,
    });
    assert.equal(res.status, 200);
    const cookie = cookieOf(res);
    assert.ok(cookie, 'a session cookie was set');
    return { cookie, login: res.body };
  }
  const exchange = (cookie: string, headers: Record<string, string> = {}, base = auth.url) =>
    http(`${base}/internal/session-token`, { headers: { cookie: `${COOKIE}=${cookie}`, ...headers } });
  const mintedClaims = (res: JsonResponse) => {
    const header = res.headers.get('x-session-authorization') ?? '';
    assert.match(header, /^Bearer /);
    return decodePart(header.slice(7), 1);
  };

  it('when a login asks for a cookie session, then a __Host- cookie with HttpOnly, Secure, SameSite=Strict, Path=/ and the absolute lifetime is set', async () => {
    const name = await newUser();
    const res = await http<CookieLogin>(`${auth.url}/auth/login?session=cookie`, {
      body: { username: name, password: STRONG_PASSWORD },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.message, `Welcome ${name}!`);
    const [line] = res.headers.getSetCookie();
    assert.match(
      line ?? '',
      /^__Host-session=[A-Za-z0-9_-]{87}; Path=\/; Secure; HttpOnly; SameSite=Strict; Max-Age=7200$/,
    );
    assert.equal(res.headers.get('cache-control'), 'no-store');
  });

  it('when a login opens a cookie session, then its JSON answers the account only: no access token and no refresh token a script in the page could take', async () => {
    const name = await newUser();
    const res = await http(`${auth.url}/auth/login?session=cookie`, {
      body: { username: name, password: STRONG_PASSWORD },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body).sort(), ['message', 'status', 'user']);
    assert.equal((res.body.user as { username: string }).username, name);
    const text = JSON.stringify(res.body);
    assert.doesNotMatch(text, /eyJ/, 'no JWT in the body');
    assert.ok(cookieOf(res), 'the session is in the cookie');
  });

  it('when a login does not ask, or asks for bearer, then no cookie is set; an unknown mode is 400 invalid_input', async () => {
    const name = await newUser();
    for (const query of ['', '?session=bearer']) {
      const res = await http(`${auth.url}/auth/login${query}`, {
        body: { username: name, password: STRONG_PASSWORD },
      });
      assert.equal(res.status, 200);
      assert.deepEqual(res.headers.getSetCookie(), []);
    }
    const bad = await http(`${auth.url}/auth/login?session=jar`, {
      body: { username: name, password: STRONG_PASSWORD },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'invalid_input');
  });

  it('when the exchange gets a live cookie, then it answers an access token of that session with the current roles, and serves it again from the cache', async () => {
    const name = await newUser();
    const { cookie, login } = await cookieLogin(name);
    const first = await exchange(cookie);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('cache-control'), 'no-store');
    assert.equal(first.headers.get('x-session-token-cache'), 'miss');
    const claims = mintedClaims(first);
    assert.equal(claims.sub, login.user.id);
    assert.equal(claims.sid, sidOf(cookie));
    assert.deepEqual(claims.roles, ['user']);
    const second = await exchange(cookie);
    assert.equal(second.headers.get('x-session-token-cache'), 'hit');
    assert.equal(second.headers.get('x-session-authorization'), first.headers.get('x-session-authorization'));
    const metrics = await (await fetch(`${auth.url}/metrics`)).text();
    for (const outcome of ['cached', 'minted'])
      assert.match(
        metrics,
        new RegExp(`^auth_cookie_exchange_total\\{[^}]*outcome="${outcome}"[^}]*\\} [1-9]`, 'm'),
      );
  });

  it('when the cache is off, then every exchange signs a new token', async () => {
    const name = await newUser(uncached.url);
    const { cookie } = await cookieLogin(name, uncached.url);
    const a = await exchange(cookie, {}, uncached.url);
    const b = await exchange(cookie, {}, uncached.url);
    assert.equal(a.headers.get('x-session-token-cache'), 'miss');
    assert.equal(b.headers.get('x-session-token-cache'), 'miss');
    assert.notEqual(mintedClaims(a).jti, mintedClaims(b).jti);
  });

  it('when the cached token would outlive the cache time, then a new one is minted after it', async () => {
    const name = await newUser();
    const { cookie } = await cookieLogin(name);
    const first = mintedClaims(await exchange(cookie));
    offset = 31_000; // COOKIE_TOKEN_CACHE_TTL defaults to 30 s
    try {
      const later = await exchange(cookie);
      assert.equal(later.headers.get('x-session-token-cache'), 'miss');
      assert.notEqual(mintedClaims(later).jti, first.jti);
    } finally {
      offset = 0;
    }
  });

  it('when a role is granted, then the next exchange carries it (the cached token is dropped) and rotates the cookie; the old value lasts only the grace period', async () => {
    const name = await newUser();
    const { cookie, login } = await cookieLogin(name);
    assert.deepEqual(mintedClaims(await exchange(cookie)).roles, ['user']);
    assert.equal((await exchange(cookie)).headers.get('x-session-set-cookie'), null, 'no rotation before');
    const patch = await http(`${auth.url}/auth/admin/users/${login.user.id}`, {
      method: 'PATCH',
      token: admin.access_token,
      body: { roles: ['user', 'admin'] },
    });
    assert.equal(patch.status, 200);
    const after = await exchange(cookie);
    assert.equal(after.headers.get('x-session-token-cache'), 'miss');
    assert.deepEqual(mintedClaims(after).roles, ['user', 'admin']);
    const setCookie = after.headers.get('x-session-set-cookie') ?? '';
    assert.match(
      setCookie,
      /^__Host-session=[A-Za-z0-9_-]{87}; Path=\/; Secure; HttpOnly; SameSite=Strict; Max-Age=7200$/,
    );
    const next = setCookie.slice(COOKIE.length + 1, COOKIE.length + 88);
    assert.notEqual(next, cookie);
    const inFlight = await exchange(cookie);
    assert.equal(inFlight.status, 200, 'a request already sent with the old value still passes');
    assert.equal(inFlight.headers.get('x-session-set-cookie'), null, 'rotated once');
    assert.equal((await exchange(next)).status, 200);
    try {
      offset = 31_000; // ROTATION_GRACE_MS is 30 s
      assert.equal((await exchange(cookie)).status, 401, 'the old value after the grace period');
      assert.equal((await exchange(next)).status, 200);
    } finally {
      offset = 0;
    }
  });

  it('when a token minted before a role change is cached after it (a race), then it is not served: the next exchange mints with the new roles', async () => {
    const name = await newUser();
    const { cookie, login } = await cookieLogin(name);
    const sid = sidOf(cookie);
    const stale = mintedClaims(await exchange(cookie)); // minted and cached with ['user']
    // The race, step by step: the role change lands, then a concurrent exchange stores what it minted before.
    await auth.service.sessions.privilegesChanged(login.user.id);
    const cookieHash = createHash('sha256').update(cookie).digest('base64url');
    await auth.service.sessions.cacheToken(
      login.user.id,
      sid,
      cookieHash,
      'stale-token',
      Date.now() + 60_000,
    );
    const next = await exchange(cookie);
    assert.equal(next.headers.get('x-session-token-cache'), 'miss');
    assert.notEqual(mintedClaims(next).jti, stale.jti);
  });

  it('when roles change and the cookie next calls an auth route, then that answer rotates the cookie', async () => {
    const name = await newUser();
    const { cookie, login } = await cookieLogin(name);
    await http(`${auth.url}/auth/admin/users/${login.user.id}`, {
      method: 'PATCH',
      token: admin.access_token,
      body: { roles: ['user', 'admin'] },
    });
    const me = await http(`${auth.url}/auth/me`, { headers: { cookie: `${COOKIE}=${cookie}` } });
    assert.equal(me.status, 200);
    assert.deepEqual(me.body.roles, ['user', 'admin']);
    const next = cookieOf(me);
    assert.ok(next && next !== cookie);
    assert.equal((await exchange(next)).status, 200);
  });

  it('when there is no cookie, or a Bearer token is present, then the exchange has nothing to do (204)', async () => {
    const name = await newUser();
    const { cookie } = await cookieLogin(name);
    const bearer = await http<Login>(`${auth.url}/auth/login`, {
      body: { username: name, password: STRONG_PASSWORD },
    });
    assert.equal((await http(`${auth.url}/internal/session-token`)).status, 204);
    const both = await exchange(cookie, { authorization: `Bearer ${bearer.body.access_token}` });
    assert.equal(both.status, 204);
    assert.equal(both.headers.get('x-session-authorization'), null);
  });

  it('when the cookie is malformed, forged or of an ended session, then the exchange answers 401 invalid_session', async () => {
    const name = await newUser();
    const { cookie } = await cookieLogin(name);
    const swap = cookie[60] === 'A' ? 'B' : 'A';
    for (const bad of ['x', `${cookie}A`, `${cookie.slice(0, 60)}${swap}${cookie.slice(61)}`]) {
      const res = await exchange(bad);
      assert.equal(res.status, 401, bad);
      assert.equal(res.body.code, 'invalid_session');
    }
    assert.equal((await exchange(cookie)).status, 200, 'a forged value did not end the session');
  });

  const OWN = 'the service itself';
  const crossSite: [Record<string, string>, number][] = [
    [{ 'x-original-method': 'POST', origin: 'https://evil.example' }, 403],
    [{ 'x-original-method': 'DELETE', 'sec-fetch-site': 'cross-site' }, 403],
    [{ 'x-original-method': 'PATCH', 'sec-fetch-site': 'same-site' }, 403],
    [{ 'x-original-method': 'POST', origin: 'null' }, 403],
    [{}, 200], // no original method: counted as state-changing, but no browser headers
    [{ 'x-original-method': 'GET', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }, 200],
    [{ 'x-original-method': 'POST', origin: OWN, 'sec-fetch-site': 'same-origin' }, 200],
    [{ 'x-original-method': 'POST', 'sec-fetch-site': 'none' }, 200],
  ];
  for (const [given, status] of crossSite) {
    it(`when the exchange is asked with ${JSON.stringify(given)}, then ${status === 403 ? '403 cross_site_request' : '200'}`, async () => {
      const { cookie } = await cookieLogin(await newUser());
      const headers = Object.fromEntries(
        Object.entries(given).map(([name, value]) => [name, value === OWN ? auth.url : value]),
      );
      const res = await exchange(cookie, headers);
      assert.equal(res.status, status);
      if (status === 403) assert.equal(res.body.code, 'cross_site_request');
    });
  }

  it('when a state-changing auth route is called from another site, then 403 cross_site_request', async () => {
    const name = await newUser();
    const { cookie } = await cookieLogin(name);
    const forged = await http(`${auth.url}/auth/logout-all`, {
      method: 'POST',
      headers: { cookie: `${COOKIE}=${cookie}`, origin: 'https://evil.example' },
    });
    assert.equal(forged.status, 403);
    assert.equal(forged.body.code, 'cross_site_request');
    assert.equal((await exchange(cookie)).status, 200, 'the forged request changed nothing');
    const loginCsrf = await http(`${auth.url}/auth/login?session=cookie`, {
      body: { username: name, password: STRONG_PASSWORD },
      headers: { origin: 'https://evil.example' },
    });
    assert.equal(loginCsrf.status, 403, 'another site cannot log the browser in');
    assert.equal(loginCsrf.body.code, 'cross_site_request');
    assert.deepEqual(loginCsrf.headers.getSetCookie(), []);
  });

  it('when the cookie alone calls /auth/me and /auth/sessions, then they answer for its session, which the list marks as a cookie session', async () => {
    const name = await newUser();
    const { cookie } = await cookieLogin(name);
    const bearerOnly = await http<Login>(`${auth.url}/auth/login`, {
      body: { username: name, password: STRONG_PASSWORD },
    });
    const headers = { cookie: `${COOKIE}=${cookie}` };
    const me = await http(`${auth.url}/auth/me`, { headers });
    assert.equal(me.status, 200);
    assert.equal(me.body.session_id, sidOf(cookie));
    const list = await http<{ sessions: { id: string; current: boolean; cookie: boolean }[] }>(
      `${auth.url}/auth/sessions`,
      { headers },
    );
    const bySid = new Map(list.body.sessions.map((s) => [s.id, s]));
    assert.deepEqual(bySid.get(String(me.body.session_id)), {
      ...bySid.get(String(me.body.session_id))!,
      current: true,
      cookie: true,
    });
    assert.equal(bySid.get(String(decodePart(bearerOnly.body.access_token, 1).sid))?.cookie, false);
    // Bearer wins: with another user's token, /auth/me is that user.
    const other = await newUser();
    const otherLogin = await http<Login>(`${auth.url}/auth/login`, {
      body: { username: other, password: STRONG_PASSWORD },
    });
    const both = await http(`${auth.url}/auth/me`, { headers, token: otherLogin.body.access_token });
    assert.equal(both.body.username, other);
  });

  it('when a cookie session logs out, then the session ends, the cookie is cleared, and logging out again is 200', async () => {
    const name = await newUser();
    const { cookie } = await cookieLogin(name);
    const headers = { cookie: `${COOKIE}=${cookie}` };
    const out = await http(`${auth.url}/auth/logout`, { method: 'POST', headers });
    assert.equal(out.status, 200);
    assert.match(out.headers.getSetCookie()[0] ?? '', /^__Host-session=; .*Max-Age=0$/);
    assert.equal((await exchange(cookie)).status, 401);
    assert.equal((await http(`${auth.url}/auth/logout`, { method: 'POST', headers })).status, 200);
  });

  it('when logout-all, a password change elsewhere or disabling the account happens, then the cookie session ends like the others', async () => {
    const name = await newUser();
    const a = await cookieLogin(name);
    const other = await http<Login>(`${auth.url}/auth/login`, {
      body: { username: name, password: STRONG_PASSWORD },
    });
    assert.equal(
      (await http(`${auth.url}/auth/logout-all`, { method: 'POST', token: other.body.access_token })).status,
      200,
    );
    assert.equal((await exchange(a.cookie)).status, 401);

    const b = await cookieLogin(name);
    const changer = await http<Login>(`${auth.url}/auth/login`, {
      body: { username: name, password: STRONG_PASSWORD },
    });
    const changed = await http(`${auth.url}/auth/password`, {
      token: changer.body.access_token,
      body: { current_password: STRONG_PASSWORD, new_password: 'a brand new passphrase 9' },
    });
    assert.equal(changed.status, 200);
    assert.equal((await exchange(b.cookie)).status, 401);

    const c = await http<Login>(`${auth.url}/auth/login?session=cookie`, {
      body: { username: name, password: 'a brand new passphrase 9' },
    });
    const cCookie = cookieOf(c)!;
    assert.equal((await exchange(cCookie)).status, 200);
    const disable = await http(`${auth.url}/auth/admin/users/${c.body.user.id}`, {
      method: 'PATCH',
      token: admin.access_token,
      body: { disabled: true },
    });
    assert.equal(disable.status, 200);
    assert.equal((await exchange(cCookie)).status, 401);
  });

  it('when the password is changed with the cookie, then the cookie is rotated: the old value is refused at once, the new one works', async () => {
    const name = await newUser();
    const { cookie } = await cookieLogin(name);
    const res = await http(`${auth.url}/auth/password`, {
      headers: { cookie: `${COOKIE}=${cookie}` },
      body: { current_password: STRONG_PASSWORD, new_password: 'rotated passphrase 12' },
    });
    assert.equal(res.status, 200);
    const next = cookieOf(res);
    assert.ok(next && next !== cookie);
    assert.equal((await exchange(cookie)).status, 401);
    assert.equal((await exchange(next)).status, 200);
  });

  it('when an account reaches the session cap, then its oldest session ends, cookie sessions included', async () => {
    const name = await newUser();
    const oldest = await cookieLogin(name);
    for (let i = 0; i < 3; i++)
      await http(`${auth.url}/auth/login`, { body: { username: name, password: STRONG_PASSWORD } });
    assert.equal((await exchange(oldest.cookie)).status, 401);
  });

  it('when the absolute lifetime has passed, then the cookie is refused even if used all along', async () => {
    const name = await newUser();
    const { cookie } = await cookieLogin(name);
    try {
      offset = 3_000_000;
      assert.equal((await exchange(cookie)).status, 200);
      offset = 7_200_000;
      assert.equal((await exchange(cookie)).status, 401);
    } finally {
      offset = 0;
    }
  });

  it('when a login carries a cookie from before, then the new cookie differs and the earlier session ends', async () => {
    const name = await newUser();
    const before = await cookieLogin(name);
    const after = await cookieLogin(name, auth.url, { cookie: `${COOKIE}=${before.cookie}` });
    assert.notEqual(after.cookie, before.cookie);
    assert.equal((await exchange(before.cookie)).status, 401);
    assert.equal((await exchange(after.cookie)).status, 200);
  });
});
