/**
 * Admission's per-client share counts a client as the Redis limits do (`clientBucket`, @authstack/config): an IPv6
 * client per /64, since one subscriber holds the whole /64 and can use any address in it; an IPv4 client per
 * address, also when it arrives IPv4-mapped.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAdmission, planAdmission, type ShedReason } from '../src/domain/admission.ts';

describe('admission: one client is one IPv6 /64', () => {
  const admission = () => {
    const shed: ShedReason[] = [];
    const plan = planAdmission({ poolSize: 4, budgetMs: 10_000, maxPerClient: 1, maxPerAccount: 10 }, 100, 4);
    return { shed, admission: createAdmission(plan, { shed: (_op, reason) => void shed.push(reason) }) };
  };

  it('when an address of a /64 holds its share, then another address of that /64 is shed as the same client', () => {
    const { admission: a, shed } = admission();
    a.admit('login', '2001:db8:a:b::1', 'alice');
    assert.throws(() => a.admit('login', '2001:db8:a:b:ffff:ffff:ffff:fffe', 'bob'));
    assert.deepEqual(shed, ['client']);
    a.admit('login', '2001:db8:a:c::1', 'carol'); // another /64: a client of its own
  });

  it('when an IPv4 client holds its share, then the same address IPv4-mapped is shed, and its neighbour is not', () => {
    const { admission: a, shed } = admission();
    a.admit('login', '192.0.2.10', 'alice');
    assert.throws(() => a.admit('login', '::ffff:192.0.2.10', 'bob'));
    assert.deepEqual(shed, ['client']);
    a.admit('login', '192.0.2.11', 'carol');
  });

  it('when the /64 releases its slot, then another of its addresses is admitted', () => {
    const { admission: a } = admission();
    a.admit('login', '2001:db8:a:b::1', 'alice').release();
    a.admit('login', '2001:db8:a:b::2', 'bob');
  });
});
