/**
 * A client address that cannot be determined, or that PostgreSQL's `inet` would refuse (an IPv6 zone id), never
 * reaches the `inet` columns: the request is refused with 400 `client_address_unknown`, and nothing is stored for it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { http } from '@authstack/testing';
import pg from 'pg';
import { parseClientAddress } from '../src/domain/request-meta.ts';
import { registerAndLogin, STRONG_PASSWORD, useAuth, username } from './support.ts';

describe('client address that cannot be determined', () => {
  const auth = useAuth({ env: { TRUST_PROXY: 'loopback' } });

  for (const forwarded of ['unknown', 'not-an-ip', '999.1.1.1', '_hidden', 'fe80::1%eth0', '::1%1']) {
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

  for (const forwarded of ['unknown', 'fe80::1%eth0']) {
    it(`when a trusted proxy forwards "${forwarded}" on login, then 400 client_address_unknown`, async () => {
      const user = await registerAndLogin(auth.url);
      const res = await http(`${auth.url}/auth/login`, {
        body: { username: user.username, password: user.password },
        headers: { 'x-forwarded-for': forwarded },
      });
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'client_address_unknown');
    });
  }

  it('when the client-address parser accepts an address, then PostgreSQL inet accepts it as the same address', async () => {
    const candidates = [
      '203.0.113.5',
      '::1',
      '2001:DB8::1',
      '::ffff:203.0.113.5',
      '1:2:3:4:5:6:1.2.3.4',
      'fe80::1%eth0',
      'fe80::1%25eth0',
      '::1%1',
      '203.0.113.5/32',
      '10',
      '01.2.3.4',
      ' 203.0.113.5',
    ];
    const client = new pg.Client({ connectionString: auth.db.url });
    await client.connect();
    try {
      for (const candidate of candidates) {
        const parsed = parseClientAddress(candidate);
        if (parsed === undefined) continue;
        const { rows } = await client.query<{ host: string; masklen: number }>(
          'SELECT host($1::inet) AS host, masklen($1::inet) AS masklen',
          [parsed],
        );
        assert.equal(rows[0]!.masklen, parsed.includes(':') ? 128 : 32, `${candidate}: one address`);
      }
      assert.equal(parseClientAddress('fe80::1%eth0'), undefined, 'a zone id is refused');
      assert.equal(parseClientAddress('203.0.113.5/32'), undefined, 'a network is not an address');
    } finally {
      await client.end();
    }
  });
});
