/**
 * Per-IP limits count an IPv6 client per /64 (one subscriber holds the whole /64), and an
 * IPv4 client the same whether it arrives as `a.b.c.d` or `::ffff:a.b.c.d`. The client address comes from the
 * trusted proxy (here the test itself, on loopback) in `X-Forwarded-For`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientBucket } from '@authstack/config';
import { http } from '@authstack/testing';
import { STRONG_PASSWORD, useAuth, username } from './support.ts';

describe('per-IP limits and IPv6', () => {
  const auth = useAuth({ env: { REGISTER_MAX_PER_IP_PER_HOUR: '2', TRUST_PROXY: 'loopback' } });

  const registerFrom = (ip: string) =>
    http(`${auth.url}/auth/register`, {
      body: { username: username('v6'), password: STRONG_PASSWORD },
      headers: { 'x-forwarded-for': ip },
    });

  it('when addresses of one IPv6 /64 register, then they share one per-IP limit', async () => {
    assert.equal((await registerFrom('2001:db8:a:b::1')).status, 201);
    assert.equal((await registerFrom('2001:db8:a:b:ffff:ffff:ffff:fffe')).status, 201);
    const third = await registerFrom('2001:db8:a:b:1234::99');
    assert.equal(third.status, 429);
    assert.equal(third.body.code, 'too_many_attempts');
    assert.equal((await registerFrom('2001:db8:a:c::1')).status, 201, 'another /64 has its own limit');
  });

  it('when an IPv4 client arrives plain and IPv4-mapped, then both count as one address', async () => {
    assert.equal((await registerFrom('192.0.2.10')).status, 201);
    assert.equal((await registerFrom('::ffff:192.0.2.10')).status, 201);
    const third = await registerFrom('::ffff:c000:20a');
    assert.equal(third.status, 429);
    assert.equal(third.body.code, 'too_many_attempts');
    assert.equal((await registerFrom('192.0.2.11')).status, 201);
  });

  it('when clientBucket is given addresses, then IPv6 maps to its /64 and IPv4 to itself', () => {
    assert.equal(clientBucket('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(clientBucket('2001:DB8:0:0:1::1'), '2001:db8:0:0::/64');
    assert.equal(clientBucket('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(clientBucket('::1'), '0:0:0:0::/64');
    assert.equal(clientBucket('203.0.113.5'), '203.0.113.5');
    assert.equal(clientBucket('::ffff:203.0.113.5'), '203.0.113.5');
  });
});
