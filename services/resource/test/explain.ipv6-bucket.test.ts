/**
 * The explain endpoint's per-client limit counts a client as the other per-address limits do (`clientBucket`,
 * @authstack/config): an IPv6 client per /64, an IPv4 client per address. The client address comes from a trusted
 * proxy (here the test itself, on loopback) in `X-Forwarded-For`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { http } from '@authstack/testing';
import { AUDIENCE, ISSUER } from '@authstack/testing/tokens';
import { useResource } from './support.ts';

describe('POST /api/explain: one limit per IPv6 /64', () => {
  const resource = useResource({
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    JWKS_URI: 'http://127.0.0.1:9/jwks.json', // never fetched: explaining a malformed token needs no key
    EXPLAIN_RATE_LIMIT: '1',
    TRUST_PROXY: 'loopback',
  });
  const explainFrom = (ip: string) =>
    http(`${resource.url}/api/explain`, { body: { token: 'not-a-jwt' }, headers: { 'x-forwarded-for': ip } });

  it('when two addresses of one /64 ask, then the second is refused 429; another /64 is not', async () => {
    assert.equal((await explainFrom('2001:db8:e:1::1')).status, 200);
    const second = await explainFrom('2001:db8:e:1:abcd::2');
    assert.equal(second.status, 429);
    assert.equal(second.body.code, 'too_many_requests');
    assert.equal((await explainFrom('2001:db8:e:2::1')).status, 200);
  });

  it('when an IPv4 address asks plain and IPv4-mapped, then both count as one client', async () => {
    assert.equal((await explainFrom('192.0.2.30')).status, 200);
    assert.equal((await explainFrom('::ffff:192.0.2.30')).status, 429);
    assert.equal((await explainFrom('192.0.2.31')).status, 200);
  });
});
