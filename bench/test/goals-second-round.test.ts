import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { secondRoundGoals, secondRoundTable } from '../goals-second-round.ts';

const figures = {
  date: '2026-12-08T02:30:00Z',
  bcrypt: { median_ms: 250 },
  rows: [
    { name: 'public (no auth), direct', rps: 1000 },
    { name: 'protected, stateless, direct', rps: 960 },
    { name: 'protected, session-checked, direct', rps: 800 },
    { name: 'protected, stateless, through the gateway', rps: 500 },
    { name: 'protected, cookie session, through the gateway, exchange cache 1 s', rps: 450 },
  ],
  cookie_revocation_window: { median_ms: 400, max_ms: 990, exchange_cache_s: 1 },
  peers: {
    rows: [
      { peer: 'verifier-no-cache', rps: 99 },
      { peer: 'jose', rps: 100 },
    ],
  },
  overload: {
    storm: [{ admission: 'on', of_ceiling: 0.85, admitted: { p99: 600 } }],
    flood: [{ admission: 'on', clients_of_ceiling: 0.7, clients_ok: { p99: 1400 } }],
  },
};

describe('the second round goals of make bench', () => {
  it('when every figure is there, then each goal is met or missed by its own target', () => {
    const met = Object.fromEntries(secondRoundGoals(figures).map((g) => [g.goal.slice(0, 40), g.met]));
    assert.deepEqual(Object.values(met), [true, true, false, false, true, true, false, true, true]);
    assert.match(secondRoundTable(figures, secondRoundGoals(figures)), /\| \*\*no\*\* \|/);
  });

  it('when a row was not measured, then its goal is missed and says so, never met', () => {
    const goals = secondRoundGoals({ ...figures, rows: [], overload: {} });
    const unmeasured = goals.filter((g) => g.figure === 'not measured in this run');
    assert.equal(unmeasured.length, 7);
    assert.ok(unmeasured.every((g) => !g.met));
  });
});
