/** One `TRUST_PROXY` parser; catch-all ranges refused. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTrustProxy } from '../src/index.ts';

describe('TRUST_PROXY parsing', () => {
  const refused = [
    'true',
    'TRUE',
    '*',
    ' * ',
    'all',
    '0.0.0.0/0',
    '10.1.2.3/0',
    '::/0',
    '::0/0',
    '0:0:0:0:0:0:0:0/0',
    '2001:db8::/0',
    '::ffff:0:0/96',
    '::ffff:0.0.0.0/96',
    '::/64',
    '0.0.0.0/1,128.0.0.0/1',
    'loopback, 0.0.0.0/1, 128.0.0.0/1',
    '::/1,8000::/1',
  ];
  for (const value of refused) {
    it(`when TRUST_PROXY is "${value}", then it is refused as trusting everyone`, () => {
      assert.throws(() => parseTrustProxy(value), /trusting every address/);
    });
  }

  const invalid = ['1.2.3', '10.0.0.0/33', '::1/129', '10.0.0.0/8/8', 'localhost', 'loopback,', '10.0.0.0/x'];
  for (const value of invalid) {
    it(`when TRUST_PROXY is "${value}", then it is refused as not an address`, () => {
      assert.throws(() => parseTrustProxy(value), /is not an IP address, a CIDR range/);
    });
  }

  const accepted: [string, ReturnType<typeof parseTrustProxy>][] = [
    ['false', false],
    ['0', false],
    ['1', 1],
    ['2', 2],
    ['loopback', ['loopback']],
    ['Loopback, uniquelocal', ['loopback', 'uniquelocal']],
    ['10.0.0.0/8, 172.16.0.0/12', ['10.0.0.0/8', '172.16.0.0/12']],
    ['192.0.2.7', ['192.0.2.7']],
    ['2001:db8::/32,::1', ['2001:db8::/32', '::1']],
    ['0.0.0.0/1', ['0.0.0.0/1']],
  ];
  for (const [value, expected] of accepted) {
    it(`when TRUST_PROXY is "${value}", then it means ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(parseTrustProxy(value), expected);
    });
  }

  it('when a hop count is absurd, then it is refused', () => {
    assert.throws(() => parseTrustProxy('33'), /hop count/);
  });
});
