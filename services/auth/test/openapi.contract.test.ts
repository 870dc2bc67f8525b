/**
 * The auth service against its OpenAPI document: a walk of every route and the errors a client can cause, each
 * real response validated (operation, status, media type, schema, problem `code`) with ajv; the express app's
 * routes and the error catalogues' (status, code) pairs must all be in the document; every operation is walked.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { authDocument } from '@authstack/contract/openapi';
import { eventually, http, testScope } from '@authstack/testing';
import { gatedBcrypt } from '@authstack/testing/gated-bcrypt';
import {
  contractChecker,
  documented,
  expressRoutes,
  type OpenApiDocument,
  problemCodesIn,
} from '@authstack/testing/openapi';
import { BOOT, useAdminStack } from './admin-support.ts';
import { STRONG_PASSWORD, startAuthFixture, username } from './support.ts';

/** The `__Host-session=<value>` pair a response set (empty when it cleared the cookie). */
function sessionCookieOf(headers: Headers): string {
  const line = headers.getSetCookie().find((l) => l.startsWith('__Host-session='));
  assert.ok(line, 'a __Host-session cookie was set');
  return line.split(';')[0]!;
}
const ELSEWHERE = { origin: 'https://elsewhere.example', 'sec-fetch-site': 'cross-site' };

const source = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));
/** Where the auth service's problems are made: its catalogue, its other throw sites, and the shared packages. */
const CATALOGUES = [
  { path: source('services/auth/src/domain/errors.ts') },
  { path: source('services/auth/src/domain/passwords.ts'), unionStatus: 400 },
  { path: source('services/auth/src/routes/accounts.ts') },
  { path: source('packages/http-problem/src/index.ts') },
  { path: source('packages/verifier/src/errors.ts'), unionStatus: 401 },
];
/** Problems of the verifier that auth cannot raise: its key set is local, never fetched. */
const NOT_IN_AUTH = new Set(['keys_unavailable']);

describe('auth and its OpenAPI document', () => {
  const stack = useAdminStack({ env: { LOGIN_MAX_FAILURES_PER_USER_IP: '2', BODY_LIMIT: '16kb' } });
  const doc = authDocument() as unknown as OpenApiDocument;
  const checker = contractChecker(doc);

  /** One request, checked against the document. */
  async function call<T = Record<string, unknown>>(
    method: string,
    path: string,
    init: { body?: unknown; token?: string | undefined; headers?: Record<string, string> } = {},
  ) {
    const res = await http<T>(`${stack.auth.url}${path}`, { method, ...init });
    checker.check({ method, path, status: res.status, headers: res.headers, body: res.body });
    return res;
  }

  it('when every route and error is walked, then each response matches the document', async () => {
    const admin = stack.admin.access_token;
    // --- public and operational
    const served = await call('GET', '/auth/openapi.json');
    assert.deepEqual(served.body, JSON.parse(JSON.stringify(authDocument(stack.auth.service.build.version))));
    for (const path of [
      '/healthz',
      '/readyz',
      '/metrics',
      '/.well-known/jwks.json',
      '/.well-known/openid-configuration',
    ])
      assert.equal((await call('GET', path)).status, 200, path);

    // --- register
    const name = username('walk');
    const credentials = { username: name, password: STRONG_PASSWORD };
    assert.equal((await call('POST', '/auth/register', { body: credentials })).status, 201);
    const refusals: [unknown, number, string][] = [
      [credentials, 409, 'username_taken'],
      [{}, 400, 'invalid_input'],
      [{ username: 'a!', password: STRONG_PASSWORD }, 400, 'invalid_username'],
      [{ username: username(), password: 'short' }, 400, 'password_too_short'],
      [{ username: username(), password: 'x'.repeat(257) }, 400, 'password_too_long'],
      [{ username: username(), password: 'password1' }, 400, 'password_common'],
      [{ username: 'walker', password: 'i am walker, ok' }, 400, 'password_contains_username'],
      ['{"username":', 400, 'malformed_json'],
      [{ username: username(), password: 'y'.repeat(20_000) }, 413, 'payload_too_large'],
    ];
    for (const [body, status, code] of refusals) {
      const res = await call('POST', '/auth/register', { body });
      assert.deepEqual([res.status, res.body.code], [status, code]);
    }
    const text = await call('POST', '/auth/register', {
      body: 'x=1',
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(text.body.code, 'unsupported_media_type');
    const encoded = await call('POST', '/auth/register', {
      body: '{}',
      headers: { 'content-encoding': 'compress' },
    });
    assert.equal(encoded.body.code, 'unsupported_encoding');
    const mangled = await call('POST', '/auth/register', {
      body: '{}',
      headers: { 'content-encoding': 'gzip' },
    });
    assert.equal(mangled.body.code, 'bad_request');

    // --- login, refresh, limits
    const login = await call<{ access_token: string; refresh_token: string; user: { id: string } }>(
      'POST',
      '/auth/login',
      { body: credentials },
    );
    assert.equal(login.status, 200);
    const token = login.body.access_token;
    assert.equal((await call('POST', '/auth/login', { body: {} })).body.code, 'invalid_input');
    // Limited per (username, IP) after 2 failures here: a name of its own, so the walk can go on logging in.
    const wrong = { username: username('limited'), password: 'not the password at all' };
    assert.equal((await call('POST', '/auth/login', { body: wrong })).body.code, 'invalid_credentials');
    await call('POST', '/auth/login', { body: wrong });
    assert.equal((await call('POST', '/auth/login', { body: wrong })).body.code, 'too_many_attempts');
    const refreshed = await call<{ refresh_token: string }>('POST', '/auth/refresh', {
      body: { refresh_token: login.body.refresh_token },
    });
    assert.equal(refreshed.status, 200);
    assert.equal((await call('POST', '/auth/refresh', { body: {} })).body.code, 'invalid_input');
    assert.equal(
      (await call('POST', '/auth/refresh', { body: { refresh_token: 'nope' } })).body.code,
      'invalid_grant',
    );

    // --- the caller's account and sessions
    assert.equal((await call('GET', '/auth/me', { token })).status, 200);
    assert.equal((await call('GET', '/auth/me')).body.code, 'token_missing');
    assert.equal((await call('GET', '/auth/me', { token: 'not.a.jwt' })).body.code, 'token_malformed');
    const sessions = await call<{ sessions: { id: string }[] }>('GET', '/auth/sessions', { token });
    assert.equal(sessions.status, 200);
    const unknownSession = await call('DELETE', `/auth/sessions/${crypto.randomUUID()}`, { token });
    assert.equal(unknownSession.body.code, 'session_not_found');
    const second = (
      await http<{ access_token: string }>(`${stack.auth.url}/auth/login`, { body: credentials })
    ).body;
    const mine = await call<{ sessions: { id: string; current: boolean }[] }>('GET', '/auth/sessions', {
      token: second.access_token,
    });
    const other = mine.body.sessions.find((s) => !s.current)!;
    assert.equal(
      (await call('DELETE', `/auth/sessions/${other.id}`, { token: second.access_token })).status,
      200,
    );
    const password = (body: unknown) => call('POST', '/auth/password', { token: second.access_token, body });
    assert.equal((await password({})).body.code, 'invalid_input');
    assert.equal(
      (await password({ current_password: 'wrong one here', new_password: 'another fine phrase' })).body.code,
      'invalid_credentials',
    );
    assert.equal(
      (await password({ current_password: STRONG_PASSWORD, new_password: 'short' })).body.code,
      'password_too_short',
    );
    assert.equal(
      (await password({ current_password: STRONG_PASSWORD, new_password: 'another fine phrase' })).status,
      200,
    );
    assert.equal((await call('POST', '/auth/logout-all', { token: second.access_token })).status, 200);
    assert.equal(
      (await call('GET', '/auth/me', { token: second.access_token })).body.code,
      'session_revoked',
    );
    assert.equal((await call('POST', '/auth/logout')).body.code, 'token_missing');
    assert.equal((await call('POST', '/auth/logout', { token: second.access_token })).status, 200);

    // --- admin
    const target = (
      await http<{ access_token: string; user: { id: string } }>(`${stack.auth.url}/auth/login`, {
        body: { username: name, password: 'another fine phrase' },
      })
    ).body;
    const userId = target.user.id;
    assert.equal(
      (await call('GET', '/auth/admin/users', { token: target.access_token })).body.code,
      'insufficient_scope',
    );
    assert.equal((await call('GET', '/auth/admin/users?limit=1', { token: admin })).status, 200);
    const found = await call<{ users: { id: string }[] }>(
      'GET',
      `/auth/admin/users?username=${name.toUpperCase()}`,
      {
        token: admin,
      },
    );
    assert.deepEqual(
      found.body.users.map((u) => u.id),
      [userId],
    );
    assert.equal(
      (await call('GET', '/auth/admin/users?limit=0', { token: admin })).body.code,
      'invalid_input',
    );
    assert.equal(
      (await call('GET', '/auth/admin/users?cursor=abc', { token: admin })).body.code,
      'invalid_cursor',
    );
    const patch = (id: string, body: unknown) =>
      call('PATCH', `/auth/admin/users/${id}`, { token: admin, body });
    assert.equal((await patch(userId, { disabled: false })).status, 200);
    assert.equal((await patch(userId, {})).body.code, 'invalid_input');
    assert.equal((await patch(crypto.randomUUID(), { disabled: true })).body.code, 'user_not_found');
    assert.equal((await patch(stack.admin.user.id, { roles: ['user'] })).body.code, 'last_admin');
    const listed = await call<{ sessions: { id: string }[] }>('GET', `/auth/admin/users/${userId}/sessions`, {
      token: admin,
    });
    assert.equal(listed.body.sessions.length, 1);
    const unknownUser = await call('GET', `/auth/admin/users/${crypto.randomUUID()}/sessions`, {
      token: admin,
    });
    assert.equal(unknownUser.body.code, 'user_not_found');
    const oneGone = `/auth/admin/users/${userId}/sessions/${crypto.randomUUID()}`;
    assert.equal((await call('DELETE', oneGone, { token: admin })).body.code, 'session_not_found');
    const oneLive = `/auth/admin/users/${userId}/sessions/${listed.body.sessions[0]!.id}`;
    assert.equal((await call('DELETE', oneLive, { token: admin })).status, 200);
    assert.equal(
      (await call('DELETE', `/auth/admin/users/${userId}/sessions`, { token: admin })).status,
      200,
    );
    const exported = await call('GET', '/auth/admin/users/export', { token: admin });
    assert.equal(exported.status, 200);
    const imported = await call('POST', '/auth/admin/users/import', {
      token: admin,
      body: { accounts: [{ username: BOOT.username, password_hash: `$2b$04$${'a'.repeat(53)}` }] },
    });
    assert.deepEqual(imported.body.refused, [{ index: 0, username: BOOT.username, reason: 'duplicate' }]);
    assert.equal(
      (await call('POST', '/auth/admin/users/import', { token: admin, body: {} })).body.code,
      'invalid_input',
    );
    assert.equal((await call('POST', '/auth/admin/keys/rotate', { token: admin })).status, 202);
    assert.equal(
      (await call('GET', `/auth/admin/events?user_id=${userId}&limit=5`, { token: admin })).status,
      200,
    );
    assert.equal(
      (await call('GET', '/auth/admin/events?type=bogus', { token: admin })).body.code,
      'invalid_input',
    );
    assert.equal(
      (await call('GET', '/auth/admin/events?cursor=zz', { token: admin })).body.code,
      'invalid_cursor',
    );

    // --- cookie sessions: the login that sets one, the routes that take it, the gateway's exchange
    const browser = { username: username('browser'), password: STRONG_PASSWORD };
    assert.equal((await call('POST', '/auth/register', { body: browser })).status, 201);
    const login2 = (query: string, headers: Record<string, string> = {}) =>
      call('POST', `/auth/login${query}`, { body: browser, headers });
    assert.equal((await login2('?session=sometimes')).body.code, 'invalid_input');
    const crossLogin = await login2('?session=cookie', ELSEWHERE);
    assert.deepEqual([crossLogin.status, crossLogin.body.code], [403, 'cross_site_request']);
    assert.deepEqual(crossLogin.headers.getSetCookie(), []);
    const opened = await login2('?session=cookie');
    assert.equal(opened.status, 200);
    let cookie = sessionCookieOf(opened.headers);
    const withCookie = (headers: Record<string, string> = {}) => ({ headers: { cookie, ...headers } });
    const forged = { headers: { cookie: `__Host-session=${'A'.repeat(87)}` } };
    assert.equal((await call('GET', '/auth/me', withCookie())).status, 200);
    const listedMine = await call<{ sessions: { current: boolean; cookie: boolean }[] }>(
      'GET',
      '/auth/sessions',
      withCookie(),
    );
    assert.ok(listedMine.body.sessions.some((s) => s.current && s.cookie));
    assert.equal((await call('GET', '/auth/me', forged)).body.code, 'invalid_session');
    assert.equal((await call('POST', '/auth/logout-all', forged)).body.code, 'invalid_session');
    const crossDelete = await call('DELETE', `/auth/sessions/${crypto.randomUUID()}`, withCookie(ELSEWHERE));
    assert.equal(crossDelete.body.code, 'cross_site_request');
    assert.equal(
      (await call('POST', '/auth/logout-all', withCookie(ELSEWHERE))).body.code,
      'cross_site_request',
    );

    const exchanged = await call(
      'GET',
      '/internal/session-token',
      withCookie({ 'x-original-method': 'GET' }),
    );
    assert.equal(exchanged.status, 200);
    assert.match(exchanged.headers.get('x-session-authorization') ?? '', /^Bearer /);
    assert.equal((await call('GET', '/internal/session-token')).status, 204);
    assert.equal(
      (await call('GET', '/internal/session-token', { ...withCookie(), token: admin })).status,
      204,
      'bearer wins',
    );
    assert.equal((await call('GET', '/internal/session-token', forged)).body.code, 'invalid_session');
    const crossExchange = await call(
      'GET',
      '/internal/session-token',
      withCookie({ ...ELSEWHERE, 'x-original-method': 'POST' }),
    );
    assert.equal(crossExchange.body.code, 'cross_site_request');

    const change = { current_password: STRONG_PASSWORD, new_password: 'a phrase for the browser' };
    const crossChange = await call('POST', '/auth/password', { body: change, ...withCookie(ELSEWHERE) });
    assert.equal(crossChange.body.code, 'cross_site_request');
    const changed = await call('POST', '/auth/password', { body: change, ...withCookie() });
    assert.equal(changed.status, 200);
    const rotated = sessionCookieOf(changed.headers);
    assert.notEqual(rotated, cookie, 'a password change with the cookie rotates it');
    cookie = rotated;
    assert.equal((await call('POST', '/auth/logout', withCookie(ELSEWHERE))).body.code, 'cross_site_request');
    const out = await call('POST', '/auth/logout', withCookie());
    assert.equal(out.status, 200);
    assert.equal(sessionCookieOf(out.headers), '__Host-session=', 'logout clears the cookie');
    assert.equal((await call('GET', '/auth/me', withCookie())).body.code, 'invalid_session');
  });

  it('when the password-hashing queue is full, then register, login and password change answer 503 overloaded as documented', async (t) => {
    // Admission control on an instance of its own: one held bcrypt call fills this client's share.
    const gate = gatedBcrypt();
    try {
      const busy = await startAuthFixture(testScope(t), {
        env: { BCRYPT_MAX_PER_CLIENT: '1', BCRYPT_MAX_PER_ACCOUNT: '1' },
        options: { bcrypt: gate.engine },
      });
      const url = busy.url;
      const at = async (method: string, path: string, init: { body?: unknown; token?: string } = {}) => {
        const res = await http(`${url}${path}`, { method, ...init });
        checker.check({ method, path, status: res.status, headers: res.headers, body: res.body });
        return res;
      };
      const account = { username: username('busy'), password: STRONG_PASSWORD };
      assert.equal((await at('POST', '/auth/register', { body: account })).status, 201);
      const token = String((await at('POST', '/auth/login', { body: account })).body.access_token);
      gate.close();
      const held = http(`${url}/auth/login`, {
        body: { username: username('held'), password: STRONG_PASSWORD },
      });
      await eventually(async () => gate.waiting() === 1, 10_000, 10);
      const shed = [
        await at('POST', '/auth/register', {
          body: { username: username('shed'), password: STRONG_PASSWORD },
        }),
        await at('POST', '/auth/login', { body: account }),
        await at('POST', '/auth/password', {
          token,
          body: { current_password: STRONG_PASSWORD, new_password: 'never hashed at all' },
        }),
      ];
      assert.deepEqual(
        shed.map((res) => [res.status, res.body.code]),
        Array(3).fill([503, 'overloaded']),
      );
      gate.open();
      assert.equal((await held).status, 401);
    } finally {
      gate.open();
    }
  });

  it('when the walk is over, then every documented operation answered its success status', () => {
    const missing = [...documented(doc).operations].filter(
      (op) => ![...checker.seen].some((seen) => seen.startsWith(`${op} 2`)),
    );
    assert.deepEqual(missing, []);
  });

  it('when the express app is read, then every route is in the document and every documented route exists', () => {
    const inCode = expressRoutes(stack.auth.service.app);
    const inDoc = documented(doc).operations;
    assert.deepEqual(
      [...inCode].filter((r) => !inDoc.has(r)),
      [],
      'routes missing from the document',
    );
    assert.deepEqual(
      [...inDoc].filter((r) => !inCode.has(r)),
      [],
      'documented routes the app does not have',
    );
  });

  it('when the error catalogues are read, then every (status, code) is in the document', () => {
    const inDoc = documented(doc).codes;
    const missing = [...problemCodesIn(CATALOGUES)]
      .filter(([code]) => !NOT_IN_AUTH.has(code))
      .filter(([code, status]) => !inDoc.get(code)?.has(status))
      .map(([code, status]) => `${status} ${code}`);
    assert.deepEqual(missing, []);
    assert.ok(inDoc.has('invalid_credentials') && inDoc.has('token_expired'), 'the catalogues were read');
  });
});
