/**
 * Issue 9, finding 13: a client address that cannot be determined no longer reaches the `inet` columns as
 * `'unknown'` or as whatever a trusted proxy forwarded (a 500 before): the request is refused with 400
 * `client_address_unknown`, and nothing is stored for it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { http } from '@authstack/testing';
import { registerAndLogin, STRONG_PASSWORD, useAuth, username } from './support.ts';

describe('client address that cannot be determined', () => {
  const auth = useAuth({ env: { TRUST_PROXY: 'loopback' } });

  for (const forwarded of ['unknown', 'not-an-ip', '999.1.1.1', '_hidden']) {
    it(`when a trusted proxy forwards "${forwarded}" on register, then 400 client_address_unknown`, async () => {
      const name = username('addr');
      const res = await http(`${auth.url}/auth/register`, {
        body: { username: name, password: STRONG_PASSWORD },
        headers: { 'x-forwarded-for': forwarded },
      });
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'client_address_unknown');
      assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
      const login = await http(`${auth.url}/auth/login`, {
        body: { username: name, password: STRONG_PASSWORD },
      });
      assert.equal(login.status, 401, 'the account was not created');
    });
  }

  it('when a trusted proxy forwards a non-address on login, then 400 client_address_unknown', async () => {
    const user = await registerAndLogin(auth.url);
    const res = await http(`${auth.url}/auth/login`, {
      body: { username: user.username, password: user.password },
      headers: { 'x-forwarded-for': 'unknown' },
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'client_address_unknown');
  });
});
