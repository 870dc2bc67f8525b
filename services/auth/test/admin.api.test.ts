import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { http, testScope } from '@authstack/testing';
import { decodePart } from '@authstack/testing/tokens';
import { useAdminStack } from './admin-support.ts';
import { registerAndLogin, startAuthFixture } from './support.ts';

const ADMIN = { username: 'chief', password: 'head of the whole place' };
type Login = { access_token: string; refresh_token: string; user: { id: string } };

describe('admin API', () => {
  const stack = useAdminStack({ credentials: ADMIN });

  it('every admin route: no token 401, user token 403 insufficient_scope, admin token 2xx', async () => {
    const user = await registerAndLogin(stack.auth.url);
    const routes: [string, string, unknown?][] = [
      ['GET', '/auth/admin/users'],
      ['GET', '/auth/admin/events'],
      ['PATCH', `/auth/admin/users/${user.user.id}`, { roles: ['user'] }],
      ['POST', '/auth/admin/keys/rotate'],
    ];
    for (const [method, path, body] of routes) {
      const anonymous = await http(`${stack.auth.url}${path}`, { method, ...(body ? { body } : {}) });
      assert.equal(anonymous.status, 401, `${method} ${path}`);
      const asUser = await http(`${stack.auth.url}${path}`, {
        method,
        token: user.access_token,
        ...(body ? { body } : {}),
      });
      assert.equal(asUser.status, 403, `${method} ${path}`);
      assert.equal(asUser.body.code, 'insufficient_scope');
      assert.match(asUser.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
      const asAdmin = await http(`${stack.auth.url}${path}`, {
        method,
        token: stack.admin.access_token,
        ...(body ? { body } : {}),
      });
      assert.ok(asAdmin.status === 200 || asAdmin.status === 202, `${method} ${path}: ${asAdmin.status}`);
    }
  });

  it('when a role is granted, then the next refreshed token carries it', async () => {
    const user = await registerAndLogin(stack.auth.url);
    const patch = await http(`${stack.auth.url}/auth/admin/users/${user.user.id}`, {
      method: 'PATCH',
      token: stack.admin.access_token,
      body: { roles: ['user', 'admin'] },
    });
    assert.equal(patch.status, 200);
    assert.deepEqual(decodePart(user.access_token, 1).roles, ['user']);
    const refreshed = await http<Login>(`${stack.auth.url}/auth/refresh`, {
      body: { refresh_token: user.refresh_token },
    });
    assert.deepEqual(decodePart(refreshed.body.access_token, 1).roles, ['user', 'admin']);
    const events = await http<{ events: { type: string; details: { to: string[] } }[] }>(
      `${stack.auth.url}/auth/admin/events?type=role_change&user_id=${user.user.id}`,
      { token: stack.admin.access_token },
    );
    assert.equal(events.body.events.length, 1);
    assert.deepEqual(events.body.events[0]!.details.to, ['user', 'admin']);
  });

  it('when a user is disabled, then every session ends and login answers the usual 401', async () => {
    const user = await registerAndLogin(stack.auth.url);
    await http(`${stack.auth.url}/auth/login`, {
      body: { username: user.username, password: user.password },
    });
    const patch = await http(`${stack.auth.url}/auth/admin/users/${user.user.id}`, {
      method: 'PATCH',
      token: stack.admin.access_token,
      body: { disabled: true },
    });
    assert.equal(patch.status, 200);
    assert.equal((await http(`${stack.auth.url}/auth/me`, { token: user.access_token })).status, 401);
    assert.equal(
      (await http(`${stack.auth.url}/auth/refresh`, { body: { refresh_token: user.refresh_token } })).status,
      401,
    );
    const login = await http(`${stack.auth.url}/auth/login`, {
      body: { username: user.username, password: user.password },
    });
    assert.equal(login.status, 401);
    assert.equal(login.body.code, 'invalid_credentials');
  });

  it('when the last admin tries to demote or disable themself, then 409 last_admin and nothing changes', async (t) => {
    const solo = await startAuthFixture(testScope(t), {
      env: { BOOTSTRAP_ADMIN_USERNAME: 'solo', BOOTSTRAP_ADMIN_PASSWORD: 'lonely keeper of keys' },
    });
    const me = (
      await http<Login>(`${solo.url}/auth/login`, {
        body: { username: 'solo', password: 'lonely keeper of keys' },
      })
    ).body;
    for (const body of [{ roles: ['user'] }, { disabled: true }]) {
      const res = await http(`${solo.url}/auth/admin/users/${me.user.id}`, {
        method: 'PATCH',
        token: me.access_token,
        body,
      });
      assert.equal(res.status, 409);
      assert.equal(res.body.code, 'last_admin');
    }
    assert.equal((await http(`${solo.url}/auth/admin/users`, { token: me.access_token })).status, 200);
  });

  it('users are listed with a cursor; bad queries and bodies are 400, unknown ids 404', async () => {
    for (let i = 0; i < 3; i++) await registerAndLogin(stack.auth.url);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { users: { username: string }[]; next_cursor: string | null } } = await http(
        `${stack.auth.url}/auth/admin/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { token: stack.admin.access_token },
      );
      assert.ok(page.body.users.length <= 2);
      seen.push(...page.body.users.map((u) => u.username));
      cursor = page.body.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, [...seen].sort());
    assert.equal(new Set(seen).size, seen.length);
    assert.ok(seen.includes(ADMIN.username));

    assert.equal(
      (await http(`${stack.auth.url}/auth/admin/users?limit=1000`, { token: stack.admin.access_token }))
        .status,
      400,
    );
    assert.equal(
      (await http(`${stack.auth.url}/auth/admin/events?type=nope`, { token: stack.admin.access_token }))
        .status,
      400,
    );
    const id = stack.admin.user.id;
    const badRole = await http(`${stack.auth.url}/auth/admin/users/${id}`, {
      method: 'PATCH',
      token: stack.admin.access_token,
      body: { roles: ['root'] },
    });
    assert.equal(badRole.status, 400);
    const empty = await http(`${stack.auth.url}/auth/admin/users/${id}`, {
      method: 'PATCH',
      token: stack.admin.access_token,
      body: {},
    });
    assert.equal(empty.status, 400);
    const unknown = await http(`${stack.auth.url}/auth/admin/users/00000000-0000-4000-8000-000000000000`, {
      method: 'PATCH',
      token: stack.admin.access_token,
      body: { disabled: false },
    });
    assert.equal(unknown.status, 404);
  });

  it('key rotation answers 202 with the staged key, which the JWKS publishes at once', async () => {
    const res = await http<{ key: { kid: string; activates_at: string } }>(
      `${stack.auth.url}/auth/admin/keys/rotate`,
      {
        method: 'POST',
        token: stack.admin.access_token,
      },
    );
    assert.equal(res.status, 202);
    assert.ok(Date.parse(res.body.key.activates_at) > Date.now());
    const jwks = await http<{ keys: { kid: string }[] }>(`${stack.auth.url}/.well-known/jwks.json`);
    assert.ok(jwks.body.keys.some((k) => k.kid === res.body.key.kid));
  });

  it('audit events cover the flows and never hold passwords or tokens', async () => {
    const user = await registerAndLogin(stack.auth.url);
    await http(`${stack.auth.url}/auth/login`, {
      body: { username: user.username, password: 'wrong password here' },
    });
    await http(`${stack.auth.url}/auth/logout`, { method: 'POST', token: user.access_token });
    const res = await http<{
      events: { type: string; ip: string; request_id: string; details: { reason?: string } }[];
    }>(`${stack.auth.url}/auth/admin/events?user_id=${user.user.id}&limit=100`, {
      token: stack.admin.access_token,
    });
    const types = res.body.events.map((e) => e.type);
    for (const type of ['register', 'login_success', 'login_failure', 'logout'])
      assert.ok(types.includes(type), type);
    assert.equal(res.body.events.find((e) => e.type === 'login_failure')!.details.reason, 'wrong_password');
    assert.ok(res.body.events.every((e) => e.ip && e.request_id));
    const text = JSON.stringify(res.body);
    for (const secret of [user.password, 'wrong password here', user.access_token, user.refresh_token]) {
      assert.equal(text.includes(secret), false);
    }
    // a password typed into the username field is not recorded either
    await http(`${stack.auth.url}/auth/login`, { body: { username: 'My Secret Pass!', password: 'x' } });
    const failures = await http(`${stack.auth.url}/auth/admin/events?type=login_failure&limit=100`, {
      token: stack.admin.access_token,
    });
    assert.equal(JSON.stringify(failures.body).toLowerCase().includes('my secret pass'), false);
    assert.ok(JSON.stringify(failures.body).includes('invalid_username'));
  });
});
