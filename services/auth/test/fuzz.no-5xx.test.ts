/**
 * Property-based test: generated bodies, headers, query strings and path parameters thrown at every endpoint
 * of the auth service (the real app on port 0, real PostgreSQL and Redis). No response is a 5xx, and every 4xx
 * is `application/problem+json` with a `code`. Fixed seed per endpoint, `FUZZ_RUNS` runs each (default 100).
 * Each endpoint gets fresh sessions (a generated logout-all or admin change must not leave the next endpoint
 * only 401s), and the test checks that generated requests reached the handler, not only the auth guard.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { http } from '@authstack/testing';
import { type Endpoint, type FuzzTarget, fuzzEndpoint, reachedHandler } from '@authstack/testing/fuzz';
import { forge, mint, testKey } from '@authstack/testing/tokens';
import fc from 'fast-check';
import { registerAndLogin, useAuth } from './support.ts';

const ADMIN = { username: 'fuzz.admin', password: 'a long fuzzing admin passphrase' };
const PASSWORD = 'correct horse battery staple';

const newAccount = fc.record({
  username: fc.stringMatching(/^[a-z][a-z0-9._-]{2,30}$/),
  password: fc.constantFrom(PASSWORD, `${PASSWORD} again`, 'short', 'password123'),
});

const ENDPOINTS: Endpoint[] = [
  { method: 'GET', path: '/healthz' },
  { method: 'GET', path: '/readyz' },
  { method: 'GET', path: '/metrics' },
  { method: 'GET', path: '/.well-known/jwks.json' },
  { method: 'GET', path: '/.well-known/openid-configuration' },
  { method: 'POST', path: '/auth/register', bodyFields: ['username', 'password'], examples: newAccount },
  {
    method: 'POST',
    path: '/auth/login',
    bodyFields: ['username', 'password'],
    examples: fc.oneof(fc.constant(ADMIN), newAccount),
  },
  { method: 'POST', path: '/auth/refresh', bodyFields: ['refresh_token'] },
  { method: 'POST', path: '/auth/logout', bodyFields: ['refresh_token'] },
  { method: 'POST', path: '/auth/logout-all' },
  { method: 'GET', path: '/auth/me' },
  { method: 'GET', path: '/auth/sessions' },
  { method: 'DELETE', path: '/auth/sessions/:id' },
  {
    method: 'POST',
    path: '/auth/password',
    bodyFields: ['current_password', 'new_password'],
    examples: fc.record({
      current_password: fc.constantFrom(PASSWORD, 'wrong password'),
      new_password: fc.constantFrom(PASSWORD, 'another long passphrase', 'short'),
    }),
  },
  { method: 'GET', path: '/auth/admin/users', queryKeys: ['limit', 'cursor'] },
  {
    method: 'PATCH',
    path: '/auth/admin/users/:id',
    bodyFields: ['roles', 'disabled'],
    examples: fc.record(
      { roles: fc.subarray(['user', 'admin']), disabled: fc.boolean() },
      { requiredKeys: [] },
    ),
  },
  { method: 'POST', path: '/auth/admin/keys/rotate' },
  { method: 'GET', path: '/auth/admin/events', queryKeys: ['type', 'user_id', 'limit', 'cursor'] },
  { method: 'PUT', path: '/auth/:anything' },
  { method: 'GET', path: '/:anything/:else' },
];

describe('auth: generated requests never get a 5xx or a non-problem error', () => {
  const auth = useAuth({
    env: {
      JWT_ALGORITHM: 'ES256', // key rotation is fuzzed too: P-256 keys are quick to make
      BOOTSTRAP_ADMIN_USERNAME: ADMIN.username,
      BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    },
  });

  let loginCount = 0;

  /**
   * New sessions for the bootstrap admin and two new users, and the tokens the generator picks from. The admin
   * logs in from an address of its own each time (through the trusted loopback proxy), so the login limits that
   * generated wrong passwords fill up never lock it out of the next endpoint.
   */
  async function freshTarget(endpoint: Endpoint): Promise<FuzzTarget> {
    loginCount += 1;
    const login = await http<{ access_token: string; user: { id: string } }>(`${auth.url}/auth/login`, {
      body: ADMIN,
      headers: { 'x-forwarded-for': `198.18.${loginCount >> 8}.${loginCount & 0xff}` },
    });
    assert.equal(login.status, 200, 'the admin can still log in');
    const admin = login.body;
    const users = await Promise.all([registerAndLogin(auth.url), registerAndLogin(auth.url)]);
    const stranger = testKey('ES256');
    const audience = { iss: auth.config.issuer, aud: auth.config.audience };
    return {
      baseUrl: auth.url,
      // Not the admin's own id: a generated change could demote it (once another admin exists) and leave the
      // next endpoints without an admin. Changes to oneself are tested in admin.last-admin.test.ts.
      knownIds: users.map((u) => u.user.id),
      authorizations: fc.oneof(
        // wrong current passwords with the admin's token would count against the admin's own login limits
        ...(endpoint.path === '/auth/password'
          ? []
          : [{ weight: 3, arbitrary: fc.constant(`Bearer ${admin.access_token}`) }]),
        { weight: 3, arbitrary: fc.constantFrom(...users.map((u) => `Bearer ${u.access_token}`)) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            `Bearer ${users[0]!.refresh_token}`,
            `Bearer ${mint(stranger, { claims: { ...audience, roles: ['admin'] } })}`,
            `Bearer ${forge({ alg: 'none', typ: 'at+jwt' }, { ...audience, sub: admin.user.id, roles: ['admin'] })}`,
          ),
        },
        {
          weight: 1,
          arbitrary: fc
            .dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })
            .map(
              (claims) =>
                `Bearer ${forge({ alg: 'ES256', typ: 'at+jwt', kid: 'x' }, { ...audience, ...claims })}`,
            ),
        },
      ),
    };
  }

  for (const endpoint of ENDPOINTS) {
    it(`when ${endpoint.method} ${endpoint.path} gets generated requests, then no 5xx and every error is problem+json with a code`, async () => {
      const statuses = await fuzzEndpoint(endpoint, await freshTarget(endpoint));
      assert.ok(reachedHandler(statuses), `only 401/403 seen: ${JSON.stringify([...statuses])}`);
    });
  }
});
